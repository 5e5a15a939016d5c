"""The benchmark floors (the least W1, W2 and W3 could cost) do the work they claim to bound:
every signature checked, every ballot stored, a forgery refused."""

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from bench import city, w1_floor, w2_floor, w3_floor
from bench.w1_http_ballots import Campaign, deployed
from domain.errors import BadSignature
from domain.keys import raw_public_key
from entrypoints.signing import Signer
from service.audit import export_bundle, verify_bundle
from service.settings import Settings
from service.system import System

COMMUNITIES = 2


def _bundle(settings: Settings, path: Path) -> bytes:
    """A generated city's bundle at `path`; returns the log key."""
    generated = city.generate(settings, COMMUNITIES)
    system = System.open(settings)
    try:
        export_bundle(system, path, generated.campaign_id)
        return system.ledger.log_public_key
    finally:
        system.close()


def _change_a_choice(envelope: dict[str, Any]) -> None:
    """Alter a signed ballot after signing: its first row gets another choice."""
    row = envelope["command"]["rows"][0]
    row["choice"] = "incompetent" if row["choice"] != "incompetent" else "excellent"


def test_the_w3_floor_verifies_every_signature_the_audit_verifies(
    store_settings: Settings, tmp_path: Path
) -> None:
    bundle = tmp_path / "city.bundle.jsonl"
    report = verify_bundle(bundle, _bundle(store_settings, bundle))
    floor = w3_floor.measure(bundle, cores=2)
    assert report.ok
    assert floor.signatures == report.envelopes > 0
    assert set(floor.stages) == {"decode", "tree", "replay", "signatures"}
    assert floor.wall_seconds == sum(floor.stages.values()) / 2 > 0


def test_the_w3_floor_refuses_a_forged_ballot(store_settings: Settings, tmp_path: Path) -> None:
    bundle = tmp_path / "city.bundle.jsonl"
    _bundle(store_settings, bundle)
    lines = bundle.read_text().splitlines()
    last_ballot = max(i for i, line in enumerate(lines) if "CastBallot" in line)
    record = json.loads(lines[last_ballot])
    state = json.loads(base64.b64decode(record["state"]))
    _change_a_choice(state["envelope"])
    record["state"] = base64.b64encode(json.dumps(state).encode()).decode()
    lines[last_ballot] = json.dumps(record)
    bundle.write_text("\n".join(lines) + "\n")
    with pytest.raises(BadSignature):
        w3_floor.measure(bundle, cores=2)


def _batches(campaign: Campaign, batches: int, size: int) -> list[bytes]:
    envelopes = campaign.paper_ballots(batches * size, meeting_size=size)
    return [
        json.dumps({"envelopes": envelopes[start : start + size]}).encode()
        for start in range(0, len(envelopes), size)
    ]


def test_the_w2_floor_stores_each_ballot_as_its_own_leaf(store_settings: Settings) -> None:
    with deployed(store_settings.data_dir, store_settings.database_url) as deployment:
        campaign = Campaign(deployment).set_up()
        bodies = _batches(campaign, batches=3, size=20)
        before = deployment.system.app.ledger.max_notification_id() or 0
        floor = w2_floor.measure(deployment.system.app, bodies, raw_public_key(campaign.teller.key))
        after = deployment.system.app.ledger.max_notification_id() or 0
    assert floor.ballots == 60
    assert after - before == 60
    assert floor.rate > 0


def test_the_w2_floor_refuses_a_forged_ballot(store_settings: Settings) -> None:
    with deployed(store_settings.data_dir, store_settings.database_url) as deployment:
        campaign = Campaign(deployment).set_up()
        [body] = _batches(campaign, batches=1, size=5)
        batch = json.loads(body)
        batch["envelopes"][-1]["command"]["group"] = "unit_rep"
        ledger = deployment.system.app.ledger
        before = ledger.max_notification_id()
        with pytest.raises(BadSignature):
            w2_floor.measure(
                deployment.system.app,
                [json.dumps(batch).encode()],
                raw_public_key(campaign.teller.key),
            )
        assert ledger.max_notification_id() == before


def test_the_w1_floor_verifies_and_ledgers_each_ballot_over_http(
    store_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with deployed(store_settings.data_dir, store_settings.database_url) as deployment:
        campaign = Campaign(deployment).set_up()
        good, forged = campaign.credential_ballots(2, meeting_size=2)
        _change_a_choice(forged)
        for name, value in w1_floor.environment(deployment.env, campaign.id).items():
            monkeypatch.setenv(name, value)
        client = w1_floor.create_app().test_client()
        ledger = deployment.system.app.ledger
        assert client.get("/healthz").get_json()["keys"] == 2 + 3  # and the unit reps
        before = ledger.ledger_size()
        accepted = client.post("/ballots", json=good)
        assert accepted.status_code == 201
        assert accepted.get_json()["ledger_index"] == before
        assert ledger.ledger_size() == before + 1
        assert client.post("/ballots", json=forged).status_code == 400
        stranger = campaign.ballot(Signer(), campaign.credentials[0][1])
        assert client.post("/ballots", json=stranger).status_code == 400
        assert ledger.ledger_size() == before + 1
