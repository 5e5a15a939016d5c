"""Anonymous ballots leave no fine time, address or request id in the request log
(issue 15): a log reader cannot match a credential ballot to its HTTP request."""

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from api.observability import JsonFormatter
from tests.e2e.conftest import runtime
from tests.e2e.test_serve import serving
from tests.support import Harness
from tests.support.http import Api, HttpCampaign

FINE_TIME = re.compile(r"\d{2}:\d{2}:\d{2}")
MINUTE_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$")


def opened(client: FlaskClient, harness: Harness) -> HttpCampaign:
    campaign = HttpCampaign(Api(client, harness))
    campaign.set_up()
    campaign.open()
    return campaign


def resident_ballot(campaign: HttpCampaign) -> dict[str, Any]:
    return campaign.ballot(
        campaign.residents[0],
        "resident_rep",
        campaign.choices("competent", "excellent", "competent", "incompetent"),
    )


def access_lines(records: list[logging.LogRecord]) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in records if r.name == "appraisal.http.access"]


def assert_anonymous(line: dict[str, Any], ballot_id: str) -> None:
    assert MINUTE_TS.match(line["ts"]), line
    assert not FINE_TIME.search(json.dumps(line)), line
    assert {"request_id", "duration_ms"}.isdisjoint(line), line
    assert ballot_id not in json.dumps(line)


def test_a_credential_ballot_and_its_receipt_check_log_no_fine_time_or_id(
    harness: Harness, app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    campaign = opened(client, harness)
    envelope, again = resident_ballot(campaign), resident_ballot(campaign)
    runtime(app).held_lines.release()  # the ballot definition reads that built them
    caplog.set_level(logging.INFO, logger="appraisal.http.access")
    caplog.clear()
    ballot_id = envelope["command"]["ballot_id"]
    cast = client.post("/api/v1/commands", json=envelope, headers={"X-Request-ID": "vote-1"})
    assert cast.status_code == 201, cast.get_data(as_text=True)
    assert client.get(f"/api/v1/ballots/{ballot_id}").status_code in (200, 404)
    batch = client.post("/api/v1/commands/batch", json={"envelopes": [again]})
    assert batch.status_code == 200
    assert access_lines(caplog.records) == [], "anonymous lines are held, not written at once"

    assert client.get("/api/v1/ledger/checkpoint").status_code == 200
    [named] = access_lines(caplog.records)  # others are logged at once, in full
    assert {"request_id", "duration_ms"} <= set(named)

    runtime(app).held_lines.release()
    held = access_lines(caplog.records)[1:]
    assert len(held) == 3
    for line in held:
        assert_anonymous(line, ballot_id)
        assert "vote-1" not in json.dumps(line)
    assert {line["path"] for line in held} == {
        "/api/v1/commands",
        "/api/v1/commands/batch",
        "/api/v1/ballots/<uuid:ballot_id>",
    }
    assert sorted(line.get("command_outcome", "-") for line in held) == ["-", "-", "accepted"]


def test_a_served_credential_ballot_leaves_no_fine_time_or_address(
    harness: Harness, app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    """Over a real TCP request to `appraisal serve`: the whole server log, read after
    the server stopped, names the ballot's request only with a minute and no address."""
    campaign = opened(client, harness)
    envelope = resident_ballot(campaign)
    with serving(harness.system.settings, tmp_path) as (base, log):
        answer = requests.post(f"{base}/api/v1/commands", json=envelope, timeout=10)
        assert answer.status_code == 201, answer.text
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    [line] = [
        line
        for line in lines
        if line.get("msg") == "request" and line.get("command_type") == "ballot.cast"
    ]
    assert_anonymous(line, envelope["command"]["ballot_id"])
    served = [line for line in lines if "Listening at" not in line["msg"]]  # gunicorn's bind
    assert "127.0.0.1" not in json.dumps(served)
