"""Ledger reads over HTTP verify against the signed checkpoint, without trusting the server."""

import json
import time

import pytest
from flask.testing import FlaskClient

from api import create_app
from api.config import ApiOptions
from domain import checkpoint, merkle
from domain.canonical import b64url_decode
from domain.entries import Entry
from service.recorders import LedgerCorrupt
from tests.e2e.conftest import assert_problem, b64decode, runtime
from tests.support import Harness, Signer
from tests.support.http import bearer, login, submit


def populate(harness: Harness, people: int = 3) -> None:
    for _ in range(people):
        harness.register("cadre")


def entries_reader(harness: Harness, client: FlaskClient, role: str = "auditor") -> dict[str, str]:
    """The Authorization header of a fresh actor holding `role`."""
    return bearer(login(client, harness.register(role))["token"])


def signed_head(harness: Harness, client: FlaskClient) -> checkpoint.Checkpoint:
    response = client.get("/api/v1/ledger/checkpoint")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    log_key = b64url_decode(harness.init_result["log_public_key"])
    origin = harness.system.settings.log_origin
    return checkpoint.verify_checkpoint(response.get_data(as_text=True), origin, log_key)


def test_inclusion_of_every_leaf_verifies_against_the_checkpoint(
    harness: Harness, client: FlaskClient
) -> None:
    populate(harness)
    auditor = entries_reader(harness, client)
    harness.system.ledger.checkpoint_now()
    head = signed_head(harness, client)
    assert head.size == harness.size
    entries = client.get(
        f"/api/v1/ledger/entries?start=0&limit={head.size}", headers=auditor
    ).get_json()
    leaves = client.get(f"/api/v1/ledger/leaves?start=0&limit={head.size}").get_json()
    assert leaves["leaves"] == [
        {"index": e["index"], "leaf_hash": e["leaf_hash"]} for e in entries["entries"]
    ]
    for entry in entries["entries"]:
        index = entry["index"]
        response = client.get(
            f"/api/v1/ledger/proofs/inclusion?index={index}&tree_size={head.size}"
        )
        assert response.status_code == 200
        proof = response.get_json()
        leaf = b64decode(proof["leaf_hash"])
        fields = {k: entry[k] for k in ("stream", "version", "topic", "state")}
        assert leaf == merkle.leaf_hash(Entry.from_json(fields).leaf_input())
        assert b64decode(entry["leaf_hash"]) == leaf
        path = [b64decode(node) for node in proof["proof"]]
        merkle.verify_inclusion(leaf, index, head.size, path, head.root)


def test_consistency_between_checkpoints_verifies(harness: Harness, client: FlaskClient) -> None:
    old = signed_head(harness, client)
    populate(harness, 2)
    harness.system.ledger.checkpoint_now()
    new = signed_head(harness, client)
    assert new.size > old.size
    response = client.get(f"/api/v1/ledger/proofs/consistency?from={old.size}&to={new.size}")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["from"], body["to"]) == (old.size, new.size)
    proof = [b64decode(node) for node in body["proof"]]
    merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)


def test_a_checkpoint_is_signed_when_there_is_none(harness: Harness, client: FlaskClient) -> None:
    store = harness.system.app.ledger
    assert store.latest_checkpoint() is not None  # `init` signs the first one
    head = signed_head(harness, client)
    assert head.size == store.latest_checkpoint().size


def test_the_checkpointer_covers_new_events_within_a_second(harness: Harness) -> None:
    app = create_app(system=harness.system, options=ApiOptions(checkpointer=True))
    client = app.test_client()
    try:
        assert client.get("/readyz").status_code == 200  # starts the checkpointer
        person = Signer()
        accepted = submit(
            client,
            harness.admin.envelope(
                "actor.register",
                actor_id=person.actor_id,
                name="New",
                roles=["cadre"],
                public_key=person.public_key,
            ),
        ).get_json()
        written = time.monotonic()
        while signed_head(harness, client).size <= accepted["position"]:
            assert time.monotonic() - written < 1.0, "no checkpoint covered the write within 1 s"
            time.sleep(0.05)
    finally:
        runtime(app).close()


@pytest.mark.parametrize("role", ["auditor", "inspector"])
def test_entries_page_through_the_ledger(harness: Harness, client: FlaskClient, role: str) -> None:
    populate(harness)
    reader = entries_reader(harness, client, role)
    size = harness.size
    for path, key in (("entries", "entries"), ("leaves", "leaves")):
        seen, start = [], 0
        while start is not None:
            page = client.get(
                f"/api/v1/ledger/{path}?start={start}&limit=4", headers=reader
            ).get_json()
            seen.extend(entry["index"] for entry in page[key])
            start = page["next"]
        assert seen == list(range(size))
    first = client.get("/api/v1/ledger/entries", headers=reader).get_json()["entries"][0]
    assert set(first) == {"index", "stream", "version", "topic", "state", "leaf_hash"}


def test_limits_and_ranges_are_problems(harness: Harness, client: FlaskClient) -> None:
    auditor = entries_reader(harness, client)
    size = harness.size
    body = assert_problem(
        client.get("/api/v1/ledger/entries?limit=1001", headers=auditor), 422, "validation-failed"
    )
    assert "limit" in body["errors"]["query"]
    body = assert_problem(client.get("/api/v1/ledger/leaves?limit=1001"), 422, "validation-failed")
    assert "limit" in body["errors"]["query"]
    assert_problem(
        client.get(f"/api/v1/ledger/proofs/inclusion?index={size}&tree_size={size}"),
        404,
        "proof-unavailable",
    )
    assert_problem(
        client.get(f"/api/v1/ledger/proofs/inclusion?index=0&tree_size={size + 1}"),
        404,
        "proof-unavailable",
    )
    assert_problem(
        client.get(f"/api/v1/ledger/proofs/consistency?from={size + 1}&to={size}"),
        404,
        "proof-unavailable",
    )
    assert_problem(client.get("/api/v1/ledger/proofs/inclusion?index=x"), 422, "validation-failed")


def test_proofs_and_leaves_need_no_login(client: FlaskClient) -> None:
    for path in (
        "/api/v1/ledger/checkpoint",
        "/api/v1/ledger/checkpoints",
        "/api/v1/ledger/leaves",
        "/api/v1/ledger/proofs/inclusion?index=0&tree_size=1",
        "/api/v1/ledger/proofs/consistency?from=1&to=1",
    ):
        assert client.get(path).status_code == 200, path
    leaf = client.get("/api/v1/ledger/leaves?limit=1").get_json()["leaves"][0]
    assert set(leaf) == {"index", "leaf_hash"}


OTHER_ROLES = ["admin", "organizer", "committee", "teller", "evaluator", "cadre"]


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_entries_are_refused_to_other_roles(
    harness: Harness, client: FlaskClient, role: str
) -> None:
    """States carry named scores: no one but auditors and inspectors reads them."""
    assert_problem(client.get("/api/v1/ledger/entries"), 401, "unauthorized")
    reader = entries_reader(harness, client, role)
    body = assert_problem(client.get("/api/v1/ledger/entries", headers=reader), 403, "wrong-role")
    assert "state" not in json.dumps(body)


def test_a_corrupt_ledger_is_a_500_problem(
    harness: Harness, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def corrupt(index: int, size: int) -> list[bytes]:
        raise LedgerCorrupt("ledger node (0, 0) is missing", position=0)

    monkeypatch.setattr(harness.system.ledger, "inclusion_proof", corrupt)
    response = client.get("/api/v1/ledger/proofs/inclusion?index=0&tree_size=1")
    assert_problem(response, 500, "ledger-corrupt")
