"""Privacy and separation of duties in the domain (issue 15), over HTTP on both stores:
separation of duties within a campaign; credential keys stored in key-id order, not
print order; an inspector's void within the dispute's scope."""

import base64
import json
from pathlib import Path
from typing import Any
from uuid import UUID

from flask.testing import FlaskClient

from domain.balloting import CREDENTIAL
from tests.e2e.conftest import assert_problem
from tests.integration.test_audit import export, verify
from tests.support import Harness, RawStore, Signer
from tests.support.http import Api, HttpCampaign, vote_and_propose
from tests.support.scenario import RULES, new_id


def refused(
    c: HttpCampaign,
    who: Signer,
    command_type: str,
    status: int = 422,
    code: str = "rule-violation",
    **fields: Any,
) -> dict[str, Any]:
    """A command refused with problem `code` (a rule violation unless said) that writes
    nothing."""
    before = c.api.harness.size
    body = assert_problem(c.post(who, command_type, **fields), status, code)
    assert c.api.harness.size == before
    return body


def voted(api: Api) -> HttpCampaign:
    """Seed 000's campaign with every ballot cast, balloting closed and results proposed."""
    c = HttpCampaign(api)
    return vote_and_propose(c)


def test_credential_rights_are_stored_in_key_id_order_not_print_order(
    client: FlaskClient, harness: Harness
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    # The slips' print order: descending key id, so print order and key-id order differ.
    c.residents.sort(key=lambda s: s.key_id, reverse=True)
    c.units.sort(key=lambda s: s.key_id, reverse=True)
    first = api.position + 1
    c.open()
    repository = harness.system.app.repository
    meeting = repository.get(UUID(c.meeting))
    rights = [repository.get(UUID(r)) for r in meeting.rights]
    for group, slips in (("resident_rep", c.residents), ("unit_rep", c.units)):
        stored = [r.holder for r in rights if r.kind == CREDENTIAL and r.group == group]
        assert stored == sorted(s.key_id for s in slips)
        assert stored != [s.key_id for s in slips]
    # The ledger's event order follows the same canonical order.
    ledger = harness.system.ledger
    issued = [
        entry["stream"]
        for entry in ledger.entries(first, ledger.size() - first)
        if entry["topic"].endswith("BallotRight.Issued")
    ]
    assert issued == meeting.rights


def test_an_inspector_voids_only_ballots_that_rate_the_disputed_appraisee(
    client: FlaskClient, harness: Harness
) -> None:
    api = Api(client, harness)
    c = voted(api)
    dispute = new_id()
    disputed = c.appraisees[3]
    c.send(c.cadres[3], "dispute.lodge", dispute_id=dispute, appraisee_id=disputed, grounds="代填")
    # Cadre 0's self-rating names cadre 0 only: outside a dispute about cadre 3.
    other = _self_ballot(c, 0)
    resident = next(b for b, g in c.groups.items() if g == "resident_rep")
    body = refused(
        c,
        c.inspector,
        "dispute.resolve",
        dispute_id=dispute,
        decision="upheld",
        reason="越权作废",
        void_ballots=[resident, other],
    )
    assert body["ballot_id"] == other and body["appraisee_id"] == disputed
    assert api.read(f"/api/v1/ballots/{other}")["status"] != "voided"
    # Within scope: the resident ballot rates every appraisee, the disputed one's own
    # self-rating rates them.
    resolved = c.send(
        c.inspector,
        "dispute.resolve",
        dispute_id=dispute,
        decision="upheld",
        reason="经核实该票为代填，予以作废",
        void_ballots=[resident, _self_ballot(c, 3)],
    )
    assert resolved["voided"] == [resident, _self_ballot(c, 3)]


def _self_ballot(c: HttpCampaign, n: int) -> str:
    """The self-rating ballot of cadre `n` (`HttpCampaign.vote` casts them in order)."""
    return [b for b, g in c.groups.items() if g == "self"][n]


def test_the_organiser_holds_no_other_duty_in_their_campaign(
    client: FlaskClient, harness: Harness
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    # One person holding every role: the organiser of this campaign, so nothing else in it.
    c.organizer = api.register("organizer", "committee", "inspector", "teller", name="全能")
    c.set_up()
    body = refused(c, c.organizer, "campaign.name_committee", actor_ids=[c.organizer.actor_id])
    assert (body["actor_id"], body["duty"], body["holds"]) == (
        c.organizer.actor_id,
        "committee member",
        ["organiser"],
    )
    c.open()
    # They may not type in a paper ballot as a teller.
    envelope = c.ballot(
        c.organizer, "resident_rep", c.choices(*["competent"] * 4), paper_serial=c.paper_serial
    )
    before = harness.size
    body = assert_problem(api.submit(envelope), 422, "rule-violation")
    assert body["duty"] == "teller" and harness.size == before
    c.vote()
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    proposal = c.send(c.organizer, "results.propose")["proposal_hash"]
    # Their committee role does not make them a member of this campaign's committee.
    refused(
        c,
        c.organizer,
        "results.approve",
        403,
        "wrong-role",
        proposal_hash=proposal,
        adjustments=[],
    )
    dispute = new_id()
    c.send(
        c.organizer, "dispute.lodge", dispute_id=dispute, appraisee_id=c.appraisees[0], grounds="查"
    )
    refused(
        c, c.organizer, "dispute.resolve", dispute_id=dispute, decision="dismissed", reason="无"
    )


def test_an_appraisee_sits_on_no_committee_and_inspects_nothing_of_their_campaign(
    client: FlaskClient, harness: Harness
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.cadres[0] = api.register("cadre", "committee", "inspector", name="干部0")
    c.set_up()
    body = refused(c, c.organizer, "campaign.name_committee", actor_ids=[c.cadres[0].actor_id])
    assert body["holds"] == ["appraisee"]
    # Only the campaign's organiser names its committee: not the admin, not another organiser.
    other = api.register("organizer", name="另一组织者")
    for who in (harness.admin, other):
        refused(
            c, who, "campaign.name_committee", 403, "wrong-role", actor_ids=[c.committee.actor_id]
        )
    c.open()
    c.vote()
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    c.send(c.organizer, "results.propose")
    dispute = new_id()
    c.send(
        c.cadres[0], "dispute.lodge", dispute_id=dispute, appraisee_id=c.appraisees[0], grounds="查"
    )
    body = refused(
        c, c.cadres[0], "dispute.resolve", dispute_id=dispute, decision="dismissed", reason="无"
    )
    assert (body["duty"], body["holds"]) == ("inspector", ["appraisee"])


def test_a_committee_member_added_after_publication_counts_once_an_inspector_countersigns(
    client: FlaskClient, harness: Harness, tmp_path: Path
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    late = api.register("committee", name="后补委员")
    c.inspector = api.register("inspector", "committee", name="纪检")
    c.set_up({**RULES, "approval": {"min_signatures": 2}})
    named = c.send(c.organizer, "campaign.name_committee", actor_ids=[late.actor_id])
    assert (named["committee"], named["pending"]) == ([c.committee.actor_id], [late.actor_id])
    # One addition at a time; the countersignature names exactly the pending members.
    third = api.register("committee", name="第三委员")
    refused(c, c.organizer, "campaign.name_committee", 409, "conflict", actor_ids=[third.actor_id])
    refused(
        c,
        c.inspector,
        "campaign.countersign_committee",
        409,
        "conflict",
        actor_ids=[third.actor_id],
    )
    c.open()
    c.vote()
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    proposal = c.send(c.organizer, "results.propose")["proposal_hash"]
    c.send(c.committee, "results.approve", proposal_hash=proposal, adjustments=[])
    # Pending, the late member's signature does not count: k-of-n counts named members.
    refused(c, late, "results.approve", 403, "wrong-role", proposal_hash=proposal, adjustments=[])
    signed = c.send(c.inspector, "campaign.countersign_committee", actor_ids=[late.actor_id])
    assert signed["committee"] == [c.committee.actor_id, late.actor_id]
    assert signed["pending"] is None
    # The countersigning inspector now holds the inspector's duty: no committee seat.
    body = refused(c, c.organizer, "campaign.name_committee", actor_ids=[c.inspector.actor_id])
    assert body["holds"] == ["inspector"]
    approved = c.send(late, "results.approve", proposal_hash=proposal, adjustments=[])
    assert approved["status"] == "approved"
    # The offline audit follows every new event from its signed command.
    path = tmp_path / "bundle.jsonl"
    export(harness, path)
    code, report = verify(harness, path)
    assert code == 0 and report["ok"], report["first_bad"]


def test_no_stored_time_of_a_credential_ballot_is_finer_than_its_meeting(
    client: FlaskClient, harness: Harness, tmp_path: Path
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    opened = c.open()["position"]
    c.vote()
    anonymous = [b for b, g in c.groups.items() if g in ("resident_rep", "unit_rep")]
    credential = [b for b in anonymous if b != _paper_ballot(c)]
    repository = harness.system.app.repository
    # Each credential ballot's Cast, its right's Spent and its command record.
    written = {
        key
        for b in credential
        for key in ((b, 1), (repository.get(UUID(b)).right, 2), (c.casts[b]["command_id"], 1))
    }
    # The store's own rows, by SQL: the Cast, Spent and command-record events of every
    # credential ballot carry the meeting's opening time, nothing finer.
    raw = RawStore(harness.system.settings)
    try:
        rows = raw.execute("SELECT originator_id, originator_version, state FROM {events}")
    finally:
        raw.close()
    times = {
        (str(UUID(str(stream))), version): json.loads(bytes(state))["timestamp"]["_data_"]
        for stream, version, state in rows
    }
    opening = times[(c.meeting, 1)]
    stamped = {key: t for key, t in times.items() if key in written}
    assert len(stamped) == len(written) == 3 * len(credential)
    assert set(stamped.values()) == {opening}
    # The audit bundle carries the same states, and the audit still verifies.
    path = tmp_path / "bundle.jsonl"
    records = export(harness, path)
    exported = {
        (r["stream"], r["version"]): json.loads(base64.b64decode(r["state"]))["timestamp"]["_data_"]
        for r in records
        if r["type"] == "entry" and (r["stream"], r["version"]) in written
    }
    assert exported == stamped
    code, report = verify(harness, path)
    assert code == 0 and report["ok"], report["first_bad"]
    # A named ballot keeps the server's clock: the rule is for credentials only.
    named = next(b for b, g in c.groups.items() if g == "leading_group")
    assert times[(named, 1)] != opening
    # The voter's receipt (the leaf input, its state included) shows the same coarse time.
    receipt = c.casts[credential[0]]["receipt"]
    stamp = json.loads(base64.b64decode(receipt["leaf"]["state"]))["timestamp"]
    assert stamp["_data_"] == opening
    assert opened < api.position


def _paper_ballot(c: HttpCampaign) -> str:
    """The one paper ballot `HttpCampaign.vote` has the teller type in (cast last)."""
    return [b for b, g in c.groups.items() if g == "resident_rep"][-1]


def test_a_teller_who_is_an_appraisee_of_another_meeting_types_in_no_paper_ballot(
    client: FlaskClient, harness: Harness
) -> None:
    """Tellers are checked against the campaign's duties, not a copy in the meeting: the
    meeting here does not appraise the teller, the campaign does."""
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.cadres[3] = api.register("cadre", "teller", name="干部3")
    c.set_up()
    c.send(
        c.organizer,
        "balloting.open",
        meeting_id=c.meeting,
        appraisee_ids=c.appraisees[:3],
        credentials=[
            {"group": "resident_rep", "public_keys": [k.public_key for k in c.residents]},
            {"group": "unit_rep", "public_keys": [k.public_key for k in c.units]},
        ],
        paper=[{"group": "resident_rep", "serials": [c.paper_serial]}],
        evaluators=[
            {"group": "leading_group", "actor_ids": [s.actor_id for s in c.leaders]},
            {"group": "city_leaders", "actor_ids": [c.city_leader.actor_id]},
            {"group": "self", "actor_ids": [k.actor_id for k in c.cadres[:3]]},
        ],
    )
    rows = [{"appraisee_id": a, "choice": "competent"} for a in c.appraisees[:3]]
    before = harness.size
    envelope = c.ballot(c.cadres[3], "resident_rep", rows, paper_serial=c.paper_serial)
    body = assert_problem(api.submit(envelope), 422, "rule-violation")
    assert (body["duty"], body["holds"]) == ("teller", ["appraisee"])
    assert harness.size == before
    c.cast(c.teller, "resident_rep", rows, paper_serial=c.paper_serial)
