"""POST /api/v1/commands/batch: a teller's stack of paper ballots over HTTP, each
envelope judged, recorded and proved on its own, on both stores."""

import base64
from typing import Any

from flask.testing import FlaskClient

from domain import merkle
from tests.e2e.conftest import PROBLEMS, assert_problem
from tests.integration.test_batch import paper_ballot
from tests.support import Harness, Signer
from tests.support.http import post_json
from tests.support.scenario import CityCampaign, new_id

BATCH = "/api/v1/commands/batch"


def open_paper_meeting(c: CityCampaign, serials: list[str]) -> str:
    meeting = new_id()
    c.send(
        c.organizer,
        "balloting.open",
        meeting_id=meeting,
        paper=[{"group": "resident_rep", "serials": serials}],
        credentials=[{"group": "unit_rep", "public_keys": [Signer().public_key for _ in range(3)]}],
    )
    return meeting


def without_replayed(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.items() if k != "replayed"} for item in results]


def test_mixed_batch_answers_each_envelope_in_order(harness: Harness, client: FlaskClient) -> None:
    c = CityCampaign(harness)
    c.set_up()
    serials = [f"P-{n:04d}" for n in range(6)]
    meeting = open_paper_meeting(c, serials)
    good = [paper_ballot(c, meeting, serial) for serial in serials[:4]]
    forged = paper_ballot(c, meeting, serials[4])
    forged["command"]["rows"][0]["choice"] = "excellent"
    unissued = paper_ballot(c, meeting, "P-9999")
    envelopes = [good[0], forged, good[1], unissued, *good[2:]]
    before = harness.size

    response = post_json(client, BATCH, {"envelopes": envelopes})

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    statuses = [item["status"] for item in body["results"]]
    assert statuses == ["accepted", "refused", "accepted", "refused", "accepted", "accepted"]
    refusals = [body["results"][1]["problem"], body["results"][3]["problem"]]
    assert [(p["type"], p["status"]) for p in refusals] == [
        (PROBLEMS + "bad-signature", 401),
        (PROBLEMS + "wrong-role", 403),
    ]
    assert all(p["title"] and p["detail"] for p in refusals)
    accepted = [item for item in body["results"] if item["status"] == "accepted"]
    assert [item["command_id"] for item in accepted] == [e["command"]["id"] for e in good]
    assert not any(item["replayed"] for item in accepted)
    assert body["position"] == max(item["position"] for item in accepted)
    # Each ballot writes its right, the ballot and the command record; refusals nothing.
    assert harness.size == before + 3 * len(good)

    ledger = harness.system.ledger
    size = ledger.size()
    root = ledger.root(size)
    for item, envelope in zip(accepted, good, strict=True):
        index = item["receipt"]["ledger_index"]
        leaf_hash = base64.b64decode(item["receipt"]["leaf_hash"])
        merkle.verify_inclusion(leaf_hash, index, size, ledger.inclusion_proof(index, size), root)
        [entry] = ledger.entries(index, 1)
        assert entry["stream"] == envelope["command"]["ballot_id"]

    again = post_json(client, BATCH, {"envelopes": envelopes})
    assert again.status_code == 200
    replayed = again.get_json()
    assert without_replayed(replayed["results"]) == without_replayed(body["results"])
    assert [item.get("replayed") for item in replayed["results"]] == [
        True,
        None,
        True,
        None,
        True,
        True,
    ]
    assert replayed["position"] == body["position"]
    assert harness.size == before + 3 * len(good)


def test_batch_refuses_empty_and_oversized_requests_whole(
    harness: Harness, client: FlaskClient
) -> None:
    before = harness.size
    assert_problem(post_json(client, BATCH, {"envelopes": []}), 422, "validation-failed")
    envelope = harness.admin.envelope("campaign.publish", campaign_id=new_id())
    assert_problem(
        post_json(client, BATCH, {"envelopes": [envelope] * 501}), 422, "validation-failed"
    )
    assert_problem(post_json(client, BATCH, [envelope]), 422, "validation-failed")
    assert harness.size == before


def test_batch_endpoint_is_documented(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"][BATCH]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BatchRequest"
    }
    envelopes = spec["components"]["schemas"]["BatchRequest"]["properties"]["envelopes"]
    assert envelopes["maxItems"] == 500
    assert set(spec["components"]["schemas"]["BatchItem"]["properties"]) >= {
        "status",
        "receipt",
        "problem",
    }
