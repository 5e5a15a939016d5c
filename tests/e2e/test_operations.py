"""Health, readiness, metrics, request ids and structured logs."""

import importlib
import json
import logging
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from api import create_app
from api.config import ApiOptions
from api.observability import JsonFormatter
from api.runtime import LagGate
from domain import wire
from projections import catch_up
from projections.projector import Projector
from service.settings import Settings, SettingsError
from tests.e2e.conftest import OPTIONS, assert_problem, runtime
from tests.support import Harness, Signer
from tests.support.http import bearer, login, submit
from tests.support.scenario import RULES


def test_healthz_does_not_touch_the_store(
    harness: Harness, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness.system.ledger, "size", lambda: 1 / 0)
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_readyz_reports_the_ledger_size_and_projection_lag(
    harness: Harness, client: FlaskClient
) -> None:
    catch_up(harness.read)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "ledger_size": harness.size,
        "projection": {"ledger_index": harness.size - 1, "behind": 0},
    }


def lagging_app(harness: Harness, max_seconds: float) -> Flask:
    """An app whose views nobody keeps, so they fall behind every write."""
    options = ApiOptions(
        checkpointer=False,
        inprocess_projections=False,
        ready_max_lag_events=0,
        ready_max_lag_seconds=max_seconds,
    )
    return create_app(system=harness.system, options=options)


def test_readyz_is_503_while_the_views_stay_too_far_behind(harness: Harness) -> None:
    app = lagging_app(harness, max_seconds=0)
    client = app.test_client()
    try:
        catch_up(harness.read)
        assert client.get("/readyz").status_code == 200
        harness.register("cadre")
        response = client.get("/readyz")
        body = assert_problem(response, 503, "not-ready")
        assert body["projection"]["behind"] > 0
        assert response.headers["Retry-After"]
        catch_up(harness.read)
        assert client.get("/readyz").status_code == 200
    finally:
        runtime(app).close()


def test_readyz_tolerates_a_burst_of_writes(harness: Harness) -> None:
    app = lagging_app(harness, max_seconds=60)
    try:
        harness.register("cadre")
        response = app.test_client().get("/readyz")
        assert response.status_code == 200
        assert response.get_json()["projection"]["behind"] > 0
    finally:
        runtime(app).close()


def test_readiness_needs_the_views_to_move_when_behind() -> None:
    """A stopped or failing worker of another process owes few events, yet never pays."""
    gate = LagGate(max_events=1000, max_seconds=30)
    assert gate.ready(0, 9, now=0)
    assert gate.ready(2, 9, now=1)
    assert gate.ready(2, 9, now=30.5)
    assert not gate.ready(2, 9, now=31)
    assert gate.ready(3, 10, now=32)  # moved
    assert not gate.ready(3, 10, now=62)
    assert gate.ready(0, 13, now=63)


def test_readiness_fails_far_behind_even_while_moving() -> None:
    gate = LagGate(max_events=5, max_seconds=30)
    assert gate.ready(6, 1, now=0)
    assert gate.ready(9, 2, now=29)
    assert not gate.ready(9, 3, now=30)
    assert gate.ready(5, 4, now=31)


def poll_readyz(client: FlaskClient, status: int, seconds: float = 15.0) -> TestResponse:
    """/readyz once it answers `status` (the worker's thread gets there in its own time)."""
    deadline = time.monotonic() + seconds
    response = client.get("/readyz")
    while response.status_code != status and time.monotonic() < deadline:
        time.sleep(0.05)
        response = client.get("/readyz")
    return response


def test_readyz_is_503_while_the_projection_worker_fails(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Projector, tx: object, row: object) -> None:
        raise RuntimeError("a value the views cannot hold")

    monkeypatch.setattr(Projector, "apply", broken)
    app = create_app(system=harness.system, options=OPTIONS)  # lag alone would allow it
    client = app.test_client()
    try:
        body = assert_problem(poll_readyz(client, 503), 503, "not-ready")
        assert "failing (RuntimeError)" in body["detail"]
        monkeypatch.undo()
        assert poll_readyz(client, 200).status_code == 200  # it retries, and recovers
    finally:
        runtime(app).close()


def test_readyz_is_503_once_the_projection_worker_is_gone(harness: Harness) -> None:
    app = create_app(system=harness.system, options=OPTIONS)
    client = app.test_client()
    try:
        assert poll_readyz(client, 200).status_code == 200
        runtime(app)._projections.stop()
        body = assert_problem(client.get("/readyz"), 503, "not-ready")
        assert body["detail"] == "the projection worker is not running"
    finally:
        runtime(app).close()


def test_a_nul_stored_before_the_wire_refused_it_does_not_stop_the_views(
    harness: Harness, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL such a value once failed every retry of the projection, for good."""
    with monkeypatch.context() as before_the_limits:
        before_the_limits.setattr(wire, "check", lambda value, path="": None)
        person = harness.register("cadre", name="甲\x00乙")
        campaign_id = str(uuid.uuid4())
        harness.submit(
            harness.admin.envelope(
                "campaign.create", campaign_id=campaign_id, title="评议\x00", year=2025, rules=RULES
            )
        )
    catch_up(harness.read)
    assert poll_readyz(client, 200).get_json()["projection"]["behind"] == 0
    token = bearer(login(client, harness.admin)["token"])
    actors = client.get("/api/v1/actors?limit=1000", headers=token).get_json()["items"]
    assert {a["actor_id"]: a["name"] for a in actors}[person.actor_id] == "甲\ufffd乙"
    campaign = client.get(f"/api/v1/campaigns/{campaign_id}", headers=token).get_json()
    assert campaign["title"] == "评议\ufffd"


def test_the_projection_lag_is_shown_to_operators(harness: Harness, client: FlaskClient) -> None:
    written = harness.register("cadre")
    position = harness.size - 1
    token = login(client, harness.admin)["token"]
    assert (
        client.get(f"/api/v1/actors?min_position={position}", headers=bearer(token)).status_code
        == 200
    )
    lag = client.get("/api/v1/projection", headers=bearer(token)).get_json()
    assert lag["in_process"] is True
    assert lag["ledger_index"] >= position
    assert lag["ledger_size"] >= position + 1
    cadre = login(client, written)["token"]
    assert_problem(client.get("/api/v1/projection", headers=bearer(cadre)), 403, "wrong-role")


def background_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name in ("projections", "checkpointer")}


def test_apps_stop_their_threads_when_closed(harness: Harness) -> None:
    before = background_threads()
    apps = [create_app(system=harness.system, options=OPTIONS) for _ in range(3)]
    for app in apps:
        assert app.test_client().get("/readyz").status_code == 200
    assert len(background_threads() - before) == 3
    for app in apps:
        runtime(app).close()
    assert background_threads() - before == set()


@pytest.mark.parametrize(
    ("env", "sqlite", "postgres"),
    [
        ({}, True, False),
        ({"APPRAISAL_INPROCESS_PROJECTIONS": "1"}, True, True),
        ({"APPRAISAL_INPROCESS_PROJECTIONS": "0"}, False, False),
    ],
)
def test_projections_run_in_process_on_sqlite_by_default(
    env: dict[str, str], sqlite: bool, postgres: bool
) -> None:
    options = ApiOptions.from_env(env)
    for url, expected in (("sqlite:///x.sqlite3", sqlite), ("postgresql://h/db", postgres)):
        settings = Settings.from_env({"APPRAISAL_DATABASE_URL": url})
        assert options.projections_in_process(settings) is expected


def test_a_bad_setting_is_refused() -> None:
    for env in (
        {"APPRAISAL_INPROCESS_PROJECTIONS": "maybe"},
        {"APPRAISAL_READ_WAIT_SECONDS": "soon"},
        {"APPRAISAL_READY_MAX_LAG_EVENTS": "-1"},
    ):
        with pytest.raises(SettingsError):
            ApiOptions.from_env(env)


def test_readyz_is_503_when_the_store_fails(
    harness: Harness, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable() -> int:
        raise ConnectionError("store down")

    monkeypatch.setattr(harness.system.ledger, "size", unreachable)
    response = client.get("/readyz")
    assert_problem(response, 503, "not-ready")
    assert response.headers["Retry-After"]


def test_metrics_count_requests_commands_and_the_ledger(
    harness: Harness, client: FlaskClient
) -> None:
    person = Signer()
    envelope = harness.admin.envelope(
        "actor.register",
        actor_id=person.actor_id,
        name="M",
        roles=["cadre"],
        public_key=person.public_key,
    )
    submit(client, envelope)
    submit(client, envelope)
    envelope["command"]["name"] = "tampered"
    submit(client, envelope)
    client.get("/nowhere")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    for line in (
        'appraisal_commands_total{outcome="accepted",type="actor.register"} 1.0',
        'appraisal_commands_total{outcome="replayed",type="actor.register"} 1.0',
        'appraisal_commands_total{outcome="duplicate-command",type="actor.register"} 1.0',
        'appraisal_http_requests_total{endpoint="/api/v1/commands",method="POST",status="201"} 1.0',
        'appraisal_http_requests_total{endpoint="<unmatched>",method="GET",status="404"} 1.0',
        f"appraisal_ledger_size {float(harness.size)}",
    ):
        assert line in text, line
    assert "appraisal_http_request_duration_seconds_bucket" in text


def test_a_sane_request_id_is_echoed_and_others_replaced(client: FlaskClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\u2028" + "x" * 200})
    assert replaced.headers["X-Request-ID"] != "bad id"
    assert len(replaced.headers["X-Request-ID"]) == 32
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32


def test_each_request_is_one_json_log_line(
    harness: Harness, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="appraisal.http.access")
    envelope = harness.admin.envelope("actor.register", actor_id="not-a-uuid")
    submit_response = client.post(
        "/api/v1/commands",
        data=json.dumps(envelope),
        content_type="application/json",
        headers={"X-Request-ID": "req-42"},
    )
    assert submit_response.status_code == 422
    [record] = [r for r in caplog.records if r.name == "appraisal.http.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-42"
    assert line["method"] == "POST"
    assert line["path"] == "/api/v1/commands"
    assert line["status"] == 422
    assert line["command_type"] == "actor.register"
    assert line["command_outcome"] == "malformed-command"
    assert line["duration_ms"] >= 0
    assert {"ts", "level"} <= set(line)


def test_the_app_opens_its_own_system_on_first_use(harness: Harness) -> None:
    app = create_app(harness.system.settings, options=ApiOptions())
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 200
        assert response.get_json()["ledger_size"] == harness.size
    finally:
        runtime(app).close()
    assert harness.size > 0  # the injected harness system is untouched by the close


def test_an_uninitialised_store_is_503(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "APPRAISAL_DATA_DIR": str(tmp_path),
            "APPRAISAL_DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        }
    )
    app = create_app(settings, options=ApiOptions())
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/api/v1/ledger/checkpoint")
    body = assert_problem(response, 503, "not-initialised")
    assert "appraisal init" in body["detail"]
    assert response.headers["Retry-After"]
    assert_problem(client.get("/readyz"), 503, "not-ready")


def test_the_wsgi_module_builds_the_app_without_touching_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "unused"
    monkeypatch.setenv("APPRAISAL_DATA_DIR", str(data_dir))
    monkeypatch.delenv("APPRAISAL_DATABASE_URL", raising=False)
    module = (
        importlib.reload(sys.modules["api.wsgi"])
        if "api.wsgi" in sys.modules
        else importlib.import_module("api.wsgi")
    )
    assert module.app.test_client().get("/healthz").status_code == 200
    assert not data_dir.exists()
