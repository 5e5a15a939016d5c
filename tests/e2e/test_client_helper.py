"""`entrypoints.client.AppraisalClient` against a real HTTP server (both stores): it
signs and sends commands, reads under a session, and surfaces refusals as problems."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from werkzeug.serving import make_server

from entrypoints.client import AppraisalClient, Refused
from entrypoints.signing import Signer, new_id
from tests.support import Harness


@pytest.fixture
def base_url(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_the_client_signs_sends_and_reads(harness: Harness, base_url: str) -> None:
    admin = AppraisalClient(base_url, harness.admin)
    auditor = Signer()
    answer = admin.send(
        "actor.register",
        actor_id=auditor.actor_id,
        name="审计",
        roles=["auditor"],
        public_key=auditor.public_key,
    )
    assert answer["type"] == "actor.register" and answer["key_id"] == auditor.key_id
    reader = AppraisalClient(base_url, auditor)
    actor = reader.get(f"/api/v1/actors/{auditor.actor_id}")
    assert actor["name"] == "审计" and actor["roles"] == ["auditor"]
    listed = reader.get("/api/v1/actors", min_position=answer["position"])
    assert auditor.actor_id in {a["actor_id"] for a in listed["items"]}


def test_a_refusal_is_raised_with_its_problem(harness: Harness, base_url: str) -> None:
    stranger = AppraisalClient(base_url, Signer())
    with pytest.raises(Refused) as refused:
        stranger.send(
            "actor.register",
            actor_id=new_id(),
            name="x",
            roles=["admin"],
            public_key=Signer().public_key,
        )
    assert refused.value.status == 401 and refused.value.problem["status"] == 401
    admin = AppraisalClient(base_url, harness.admin)
    stale = harness.admin.envelope(
        "campaign.publish", campaign_id=new_id(), issued_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    with pytest.raises(Refused) as old:
        admin.submit(stale)
    assert 400 <= old.value.status < 500
