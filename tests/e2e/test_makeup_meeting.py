"""A make-up meeting after an upheld dispute, over HTTP on both stores: the dispute voids
ballots so groups fall below `min_ballots`, the campaign reopens, the organiser opens a
make-up meeting for what was voided, its ballots count with the original meeting's, and
the results are proposed, approved and published again; the offline audit verifies it all.
Nobody votes twice for the same appraisee."""

from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from tests.e2e.conftest import assert_problem
from tests.integration.test_audit import export, verify
from tests.support import Harness, Signer
from tests.support.http import Api, HttpCampaign
from tests.support.scenario import DIMENSIONS, RULES, new_id


def refuse(c: HttpCampaign, status: int, code: str, command_type: str, **fields: Any) -> dict:
    before = c.api.harness.size
    body = assert_problem(c.post(c.organizer, command_type, **fields), status, code)
    assert c.api.harness.size == before
    return body


def voted_and_disputed(api: Api) -> tuple[HttpCampaign, list[str]]:
    """Seed 000's campaign voted, approved and published; then an upheld dispute voids
    three valid resident ballots and cadre 3's self-rating. The voided ballot ids."""
    c = HttpCampaign(api)
    c.set_up()
    c.open()
    c.vote()
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    proposal = c.send(c.organizer, "results.propose")["proposal_hash"]
    c.send(c.committee, "results.approve", proposal_hash=proposal, adjustments=[])
    c.send(api.harness.admin, "results.publish", window_days=0)
    dispute = new_id()
    c.send(
        c.cadres[3],
        "dispute.lodge",
        dispute_id=dispute,
        appraisee_id=c.appraisees[3],
        grounds="居民代表票存在代填",
    )
    residents = [b for b, g in c.groups.items() if g == "resident_rep" and c.casts[b]["valid"]]
    own = [b for b, g in c.groups.items() if g == "self"][3]
    voided = [*residents[:3], own]
    resolved = c.send(
        c.inspector,
        "dispute.resolve",
        dispute_id=dispute,
        decision="upheld",
        reason="经核实三张居民代表票为代填，予以作废",
        void_ballots=voided,
    )
    assert resolved["status"] == "reopened"
    return c, voided


def open_makeup(c: HttpCampaign, residents: list[Signer], **fields: Any) -> dict[str, Any]:
    return {
        "meeting_id": new_id(),
        "appraisee_ids": c.appraisees,
        "credentials": [
            {"group": "resident_rep", "public_keys": [r.public_key for r in residents]}
        ],
        **fields,
    }


def test_a_makeup_meeting_tops_up_what_a_dispute_voided(
    harness: Harness, client: FlaskClient, tmp_path: Path
) -> None:
    api = Api(client, harness)
    c, _ = voted_and_disputed(api)
    # Proposing now: every resident group is short of min_ballots (3 + 1 paper < 5).
    c.send(c.organizer, "results.propose")
    shown = api.read(f"{c.path}/results", c.organizer)["results"]
    assert {r["status"] for r in shown} == {"incomplete"}

    residents = [Signer() for _ in range(4)]
    # Stuffing: more rights than ballots were voided in the group, a group that lost none.
    body = refuse(c, 422, "rule-violation", "balloting.open", **open_makeup(c, residents))
    assert (body["group"], body["allowed"], body["issued"]) == ("resident_rep", 3, 4)
    units = open_makeup(c, residents[:3])
    units["credentials"].append({"group": "unit_rep", "public_keys": [Signer().public_key]})
    assert refuse(c, 422, "rule-violation", "balloting.open", **units)["group"] == "unit_rep"
    # A cadre whose self-rating stands may not rate themselves again.
    again = open_makeup(
        c, residents[:3], evaluators=[{"group": "self", "actor_ids": [c.cadres[2].actor_id]}]
    )
    body = refuse(c, 409, "conflict", "balloting.open", **again)
    assert (body["actor_id"], body["appraisee_id"]) == (c.cadres[2].actor_id, c.appraisees[2])

    # The make-up meeting: the three voided residents and cadre 3 vote again.
    makeup = open_makeup(
        c, residents[:3], evaluators=[{"group": "self", "actor_ids": [c.cadres[3].actor_id]}]
    )
    opened = c.send(c.organizer, "balloting.open", **makeup)
    assert opened["issued"] == {"resident_rep": 3, "self": 1}
    assert api.read(c.path, c.organizer)["status"] == "reopened"
    # No further make-up rights while these stand.
    extra = open_makeup(c, [Signer()])
    assert refuse(c, 422, "rule-violation", "balloting.open", **extra)["allowed"] == 0
    c.meeting = makeup["meeting_id"]
    for resident in residents[:3]:
        c.cast(resident, "resident_rep", c.choices(*["competent"] * 4))
    c.cast(c.cadres[3], "self", [{"appraisee_id": c.appraisees[3], "choice": "competent"}])
    closed = c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    assert closed["reconciliation"]["resident_rep"]["cast"] == 3

    proposal = c.send(c.organizer, "results.propose")["proposal_hash"]
    results = api.read(f"{c.path}/results", c.organizer)["results"]
    assert {r["status"] for r in results} == {"complete"}
    # Three standing + one paper + three make-up resident ballots; one self-rating each.
    assert {r["groups"]["resident_rep"]["ballots"] for r in results} >= {6}
    assert {r["groups"]["self"]["ballots"] for r in results} == {1}
    c.send(c.committee, "results.approve", proposal_hash=proposal, adjustments=[])
    assert c.send(harness.admin, "results.publish", window_days=0)["status"] == "publicized"

    path = tmp_path / "bundle.jsonl"
    export(harness, path)
    code, report = verify(harness, path)
    assert code == 0, report


def test_a_named_evaluator_holds_one_ballot_per_appraisee(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up(rules={k: v for k, v in RULES.items() if k != "quorum"})  # meetings of one group
    c.open()
    leader = c.leaders[0]
    second = {
        "meeting_id": new_id(),
        "appraisee_ids": c.appraisees[2:],
        "evaluators": [{"group": "leading_group", "actor_ids": [leader.actor_id]}],
    }
    # Unspent in the open meeting, for the same appraisees: refused, in another group too.
    body = refuse(c, 409, "conflict", "balloting.open", **second)
    assert (body["meeting_id"], body["appraisee_id"]) == (c.meeting, sorted(c.appraisees[2:])[0])
    second["evaluators"] = [{"group": "city_leaders", "actor_ids": [leader.actor_id]}]
    refuse(c, 409, "conflict", "balloting.open", **second)
    # Spent: still refused once the first meeting is closed.
    c.vote()
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    refuse(c, 409, "conflict", "balloting.open", **second)


def test_a_row_outside_its_meeting_bars_nothing(harness: Harness, client: FlaskClient) -> None:
    """A ballot's row for an appraisee its meeting does not appraise never counts for
    them, so it does not bar its evaluator from their own meeting; its rows inside the
    meeting still do."""
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up(rules={k: v for k, v in RULES.items() if k != "quorum"})
    leader = c.leaders[0]
    named = [{"group": "leading_group", "actor_ids": [leader.actor_id]}]
    ours, theirs = c.appraisees[0], c.appraisees[2]
    c.send(
        c.organizer, "balloting.open", meeting_id=c.meeting, appraisee_ids=[ours], evaluators=named
    )
    scores = dict.fromkeys(DIMENSIONS, 80)
    cast = c.cast(
        leader,
        "leading_group",
        [{"appraisee_id": ours, "scores": scores}, {"appraisee_id": theirs, "scores": scores}],
    )
    assert c.api.result(cast)["valid"] is False
    c.send(
        c.organizer, "balloting.open", meeting_id=new_id(), appraisee_ids=[theirs], evaluators=named
    )
    body = refuse(
        c,
        409,
        "conflict",
        "balloting.open",
        meeting_id=new_id(),
        appraisee_ids=[ours],
        evaluators=named,
    )
    assert (body["meeting_id"], body["appraisee_id"]) == (c.meeting, ours)


def test_a_credential_key_bound_once_is_refused_in_any_later_meeting(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up(rules={k: v for k, v in RULES.items() if k != "quorum"})
    c.open()
    reused = c.residents[3].public_key
    fresh = [Signer().public_key for _ in range(2)]
    body = refuse(
        c,
        409,
        "conflict",
        "balloting.open",
        meeting_id=new_id(),
        credentials=[{"group": "resident_rep", "public_keys": [*fresh, reused]}],
    )
    assert "already in use" in body["detail"]
    c.send(
        c.organizer,
        "balloting.open",
        meeting_id=new_id(),
        credentials=[{"group": "resident_rep", "public_keys": fresh}],
    )
