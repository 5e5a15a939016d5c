"""Two officials and issued means handed out (issue 16), over HTTP on both stores: unused
slips are voided at the meeting by a signed `credentials.void` and can then not be spent,
the close reconciles handed out = issued − voided ≥ cast, and where the rules ask for it
an anonymous meeting takes effect only once an inspector other than the organiser
countersigns it. Every refusal is a problem, writes nothing, and the audit passes."""

from typing import Any

from flask.testing import FlaskClient

from tests.e2e.conftest import assert_problem
from tests.e2e.test_campaign_state_machine import assert_audit_verifies
from tests.support import Harness, Signer
from tests.support.http import Api, HttpCampaign
from tests.support.scenario import RULES

COUNTERSIGNED = {**RULES, "credentials": {"countersign": "inspector"}}


def refuse(c: HttpCampaign, who: Signer, status: int, code: str, kind: str, **f: Any) -> str:
    before = c.api.harness.size
    body = assert_problem(c.post(who, kind, **f), status, code)
    assert c.api.harness.size == before
    return str(body["detail"])


def void(c: HttpCampaign, *slips: Signer, serials: tuple[str, ...] = ()) -> dict[str, Any]:
    fields: dict[str, Any] = {"meeting_id": c.meeting}
    if slips:
        keys = [s.public_key for s in slips]
        fields["credentials"] = [{"group": "resident_rep", "public_keys": keys}]
    if serials:
        fields["paper"] = [{"group": "resident_rep", "serials": list(serials)}]
    return c.send(c.organizer, "credentials.void", **fields)


def resident_ballot(c: HttpCampaign, who: Signer) -> dict[str, Any]:
    return c.ballot(
        who, "resident_rep", c.choices("competent", "excellent", "competent", "incompetent")
    )


def test_voided_slips_cannot_be_spent_and_the_close_reconciles_them(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    c.open()
    spent, unused, absent = c.residents[0], c.residents[6], c.residents[7]
    c.cast(spent, "resident_rep", c.choices("competent", "excellent", "competent", "competent"))

    detail = refuse(
        c,
        c.organizer,
        409,
        "wrong-state",
        "credentials.void",
        meeting_id=c.meeting,
        credentials=[{"group": "resident_rep", "public_keys": [spent.public_key]}],
    )
    assert "already used" in detail
    answer = void(c, unused, absent, serials=(c.paper_serial,))
    assert answer["voided"] == 3

    refused = assert_problem(api.submit(resident_ballot(c, unused)), 409, "wrong-state")
    assert "作废" in refused["detail"]
    paper = c.ballot(
        c.teller, "resident_rep", c.choices(*["competent"] * 4), paper_serial=c.paper_serial
    )
    assert "作废" in assert_problem(api.submit(paper), 409, "wrong-state")["detail"]
    assert "already voided" in refuse(
        c,
        c.organizer,
        409,
        "wrong-state",
        "credentials.void",
        meeting_id=c.meeting,
        credentials=[{"group": "resident_rep", "public_keys": [absent.public_key]}],
    )

    [live] = api.read(f"{c.path}/reconciliation", c.cadres[0])["items"]
    residents = live["groups"]["resident_rep"]
    assert (residents["issued"], residents["slips_voided"], residents["handed_out"]) == (9, 3, 6)
    assert (residents["cast"], residents["unused"]) == (1, 5)

    for resident in c.residents[1:6]:
        c.cast(resident, "resident_rep", c.choices("competent", *["competent"] * 3))
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    [meeting] = api.read(f"{c.path}/reconciliation", c.cadres[0])["items"]
    assert meeting["recorded"] == meeting["groups"]
    residents = meeting["groups"]["resident_rep"]
    assert (residents["handed_out"], residents["cast"], residents["unused"]) == (6, 6, 0)
    for counts in meeting["groups"].values():
        assert counts["handed_out"] == counts["issued"] - counts["slips_voided"]
        assert counts["handed_out"] == counts["cast"] + counts["unused"] >= counts["cast"]
    assert "closed" in refuse(
        c,
        c.organizer,
        409,
        "wrong-state",
        "credentials.void",
        meeting_id=c.meeting,
        credentials=[{"group": "unit_rep", "public_keys": [c.units[0].public_key]}],
    )
    assert_audit_verifies(harness)


def test_credentials_void_refuses_hostile_and_foreign_input(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    c.open()
    slip = c.residents[0].public_key
    mine = [{"group": "resident_rep", "public_keys": [slip]}]
    m = c.meeting
    refuse(c, c.teller, 403, "wrong-role", "credentials.void", meeting_id=m, credentials=mine)
    refuse(c, c.inspector, 403, "wrong-role", "credentials.void", meeting_id=m, credentials=mine)
    for hostile in (
        {"meeting_id": m},
        {"meeting_id": m, "credentials": []},
        {"meeting_id": m, "credentials": [{"group": "resident_rep", "public_keys": [slip, slip]}]},
        {"meeting_id": m, "credentials": [*mine, *mine]},
        {"meeting_id": m, "credentials": [{"group": "resident_rep", "public_keys": ["AAAA"]}]},
        {"meeting_id": m, "credentials": [{"group": "resident_rep", "public_keys": [7]}]},
        {"meeting_id": m, "credentials": "all"},
        {"meeting_id": m, "credentials": mine, "reason": "extra"},
        {"meeting_id": "not-a-uuid", "credentials": mine},
    ):
        refuse(c, c.organizer, 422, "malformed-command", "credentials.void", **hostile)
    stranger = [{"group": "resident_rep", "public_keys": [Signer().public_key]}]
    refuse(c, c.organizer, 404, "not-found", "credentials.void", meeting_id=m, credentials=stranger)
    other_group = [{"group": "unit_rep", "public_keys": [slip]}]
    refuse(
        c, c.organizer, 404, "not-found", "credentials.void", meeting_id=m, credentials=other_group
    )
    refuse(
        c,
        c.organizer,
        404,
        "not-found",
        "credentials.void",
        meeting_id="00000000-0000-4000-8000-000000000000",
        credentials=mine,
    )
    assert_audit_verifies(harness)


def test_a_countersigned_meeting_takes_effect_only_when_an_inspector_signs(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    both = api.register("organizer", "inspector", name="身兼两职")
    c.set_up(COUNTERSIGNED)
    c.organizer = both
    c.open()
    c.organizer = api.register("organizer", name="另一组织部")

    early = resident_ballot(c, c.residents[0])
    assert "countersignature" in assert_problem(api.submit(early), 409, "wrong-state")["detail"]
    leader = c.ballot(
        c.leaders[0],
        "leading_group",
        [{"appraisee_id": a, "scores": dict.fromkeys(("morality",), 90)} for a in c.appraisees],
    )
    assert_problem(api.submit(leader), 409, "wrong-state")
    m = c.meeting
    refuse(c, c.organizer, 403, "wrong-role", "balloting.countersign", meeting_id=m)
    refuse(c, c.teller, 403, "wrong-role", "balloting.countersign", meeting_id=m)
    assert "another official" in refuse(
        c, both, 403, "wrong-role", "balloting.countersign", meeting_id=m
    )
    refuse(
        c, c.inspector, 422, "malformed-command", "balloting.countersign", meeting_id=m, note="x"
    )
    refuse(
        c,
        c.inspector,
        404,
        "not-found",
        "balloting.countersign",
        meeting_id="00000000-0000-4000-8000-000000000000",
    )

    answer = c.send(c.inspector, "balloting.countersign", meeting_id=m)
    assert answer["countersigned_by"] == c.inspector.actor_id
    refuse(c, c.inspector, 409, "wrong-state", "balloting.countersign", meeting_id=m)
    assert api.accepted(api.submit(early))["valid"]
    c.send(c.organizer, "balloting.close", meeting_id=m)
    refuse(c, c.inspector, 409, "wrong-state", "balloting.countersign", meeting_id=m)
    assert_audit_verifies(harness)


def test_without_the_rule_no_countersignature_is_asked_or_accepted(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    c.open()
    assert api.accepted(api.submit(resident_ballot(c, c.residents[0])))["valid"]
    detail = refuse(
        c, c.inspector, 409, "wrong-state", "balloting.countersign", meeting_id=c.meeting
    )
    assert "no countersignature" in detail


def test_a_named_only_meeting_needs_no_countersignature(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up({**COUNTERSIGNED, "quorum": {}})
    c.send(
        c.organizer,
        "balloting.open",
        meeting_id=c.meeting,
        evaluators=[
            {"group": "city_leaders", "actor_ids": [c.city_leader.actor_id]},
        ],
    )
    c.cast(
        c.city_leader,
        "city_leaders",
        c.choices("excellent", "competent", "competent", "incompetent"),
    )
    refuse(c, c.inspector, 409, "wrong-state", "balloting.countersign", meeting_id=c.meeting)


ATTENDED = {**RULES, "quorum": {**RULES["quorum"], "min_attendance_share": {"resident_rep": "0.8"}}}


def open_fields(c: HttpCampaign, attendance: Any) -> dict[str, Any]:
    return {
        "meeting_id": c.meeting,
        "credentials": [
            {"group": "resident_rep", "public_keys": [k.public_key for k in c.residents]},
            {"group": "unit_rep", "public_keys": [k.public_key for k in c.units]},
        ],
        "attendance": attendance,
    }


def test_attendance_quorum_and_present_at_least_handed_out(
    harness: Harness, client: FlaskClient
) -> None:
    """Issue 13 item 6: seed 004's 4/5 of the resident representatives present."""
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up(ATTENDED)
    short = {"resident_rep": {"members": 10, "present": 7}}
    detail = refuse(
        c, c.organizer, 422, "rule-violation", "balloting.open", **open_fields(c, short)
    )
    assert "7 of 10" in detail
    refuse(c, c.organizer, 422, "rule-violation", "balloting.open", **open_fields(c, {}))
    for hostile in (
        {"resident_rep": {"members": 10, "present": 11}},
        {"resident_rep": {"members": -1, "present": 0}},
        {"resident_rep": {"members": "10", "present": 8}},
        {"resident_rep": {"members": 10}},
        {"resident_rep": {"members": 10, "present": 8, "late": 1}},
        {"resident_rep": [10, 8]},
        [],
    ):
        refuse(
            c, c.organizer, 422, "malformed-command", "balloting.open", **open_fields(c, hostile)
        )
    stranger = {
        "resident_rep": {"members": 10, "present": 8},
        "guests": {"members": 1, "present": 1},
    }
    refuse(c, c.organizer, 422, "rule-violation", "balloting.open", **open_fields(c, stranger))
    zero = {"resident_rep": {"members": 0, "present": 0}}
    refuse(c, c.organizer, 422, "rule-violation", "balloting.open", **open_fields(c, zero))

    present = {
        "resident_rep": {"members": 8, "present": 7},
        "unit_rep": {"members": 3, "present": 3},
    }
    c.send(c.organizer, "balloting.open", **open_fields(c, present))
    c.cast(c.residents[0], "resident_rep", c.choices(*["competent"] * 4))
    detail = refuse(c, c.organizer, 422, "rule-violation", "balloting.close", meeting_id=c.meeting)
    assert "8 slips handed out but only 7 present" in detail
    void(c, c.residents[7])
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    [meeting] = api.read(f"{c.path}/reconciliation", c.cadres[0])["items"]
    assert meeting["groups"]["resident_rep"]["handed_out"] == 7
    assert_audit_verifies(harness)
