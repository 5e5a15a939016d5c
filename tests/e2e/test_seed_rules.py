"""Every seed rule enforced over HTTP, on both stores (issue 13 items 1, 3, 4, 5, 8, 10):
each test is the attack that would pass if the rule's check were missing."""

from fractions import Fraction

from flask.testing import FlaskClient

from tests.e2e.driver import DIMENSIONS, Api, HttpCampaign
from tests.support import Harness


def a_meeting_of_three(c: HttpCampaign) -> list[str]:
    """Balloting that appraises the first three appraisees only; all its ballots cast,
    the teller's paper ballot naming the fourth, whom this meeting did not appraise."""
    present = c.appraisees[:3]
    c.send(
        c.organizer,
        "balloting.open",
        meeting_id=c.meeting,
        appraisee_ids=present,
        credentials=[
            {"group": "resident_rep", "public_keys": [k.public_key for k in c.residents[:6]]},
            {"group": "unit_rep", "public_keys": [k.public_key for k in c.units]},
        ],
        paper=[{"group": "resident_rep", "serials": [c.paper_serial]}],
        evaluators=[
            {"group": "leading_group", "actor_ids": [s.actor_id for s in c.leaders]},
            {"group": "city_leaders", "actor_ids": [c.city_leader.actor_id]},
            {"group": "self", "actor_ids": [x.actor_id for x in c.cadres[:3]]},
        ],
    )
    for n, leader in enumerate(c.leaders):
        c.cast(
            leader,
            "leading_group",
            [{"appraisee_id": a, "scores": dict.fromkeys(DIMENSIONS, 80 + n)} for a in present],
        )
    competent = [{"appraisee_id": a, "choice": "competent"} for a in present]
    c.cast(c.city_leader, "city_leaders", competent)
    for appraisee, cadre in zip(present, c.cadres, strict=False):
        c.cast(cadre, "self", [{"appraisee_id": appraisee, "choice": "competent"}])
    for voter in (*c.units, *c.residents[:6]):
        c.cast(voter, "unit_rep" if voter in c.units else "resident_rep", competent)
    return present


def test_a_ballot_naming_someone_its_meeting_did_not_appraise_is_never_counted(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    present = a_meeting_of_three(c)
    outsider = c.appraisees[3]
    paper = c.cast(
        c.teller,
        "resident_rep",
        [
            {"appraisee_id": present[0], "choice": "incompetent"},
            {"appraisee_id": present[1], "choice": "competent"},
            {"appraisee_id": outsider, "choice": "competent"},
        ],
        paper_serial=c.paper_serial,
    )
    assert (paper["valid"], paper["reason"]) == (False, f"unknown_appraisee:{outsider}")
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    c.send(c.organizer, "results.propose")

    results = api.read(f"{c.path}/results", c.inspector)["results"]
    first = next(r for r in results if r["appraisee_id"] == present[0])
    residents = first["groups"]["resident_rep"]
    # six residents chose 称职 (80); the invalid paper ballot's 不称职 (50) must not count
    assert (residents["ballots"], Fraction(residents["score_exact"])) == (6, Fraction(80))
    told = api.read(f"{c.path}/results/{present[0]}/explanation", c.inspector)
    rows = told["groups"]["resident_rep"]
    assert paper["ballot_id"] not in {row["ballot_id"] for row in rows["rows_used"]}
    [excluded] = rows["rows_excluded"]
    assert excluded["ballot_id"] == paper["ballot_id"]
    assert excluded["reason"] == f"invalid:unknown_appraisee:{outsider}"
    [meeting] = api.read(f"{c.path}/reconciliation", c.inspector)["items"]
    counts = meeting["groups"]["resident_rep"]
    assert (counts["valid"], counts["invalid"], counts["counted"]) == (6, 1, 6)
    assert counts["counted"] == residents["ballots"]
