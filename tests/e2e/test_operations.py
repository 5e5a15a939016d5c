"""Health, readiness, metrics, request ids and structured logs."""

import importlib
import json
import logging
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api import create_app
from api.config import ApiOptions
from api.observability import JsonFormatter
from service.settings import Settings
from tests.e2e.conftest import assert_problem, runtime, submit
from tests.support import Harness, Signer


def test_healthz_does_not_touch_the_store(
    harness: Harness, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness.system.ledger, "size", lambda: 1 / 0)
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_readyz_reports_the_ledger_size(harness: Harness, client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "ledger_size": harness.size}


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
        assert response.get_json() == {"status": "ready", "ledger_size": harness.size}
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
