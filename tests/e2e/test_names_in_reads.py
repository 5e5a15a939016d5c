"""Reads name people and say labels, not only ids and codes: the roster with name,
position, unit and category label; results with the same beside each appraisee and
the grade's label. Both from the campaign's own roster and rules, never hard-coded."""

from flask.testing import FlaskClient

from domain.rules import parse_rules
from tests.support import Harness
from tests.support.http import Api, HttpCampaign
from tests.support.scenario import RULES


def test_roster_and_results_carry_names_and_labels(harness: Harness, client: FlaskClient) -> None:
    c = HttpCampaign(Api(client, harness))
    c.set_up()
    labels = parse_rules(RULES).labels()
    roster = c.api.read(f"{c.path}/appraisees", c.cadres[0])
    assert roster["total"] == len(c.appraisees)
    assert [a["appraisee_id"] for a in roster["items"]] == c.appraisees
    for i, entry in enumerate(roster["items"]):
        assert (entry["name"], entry["position"], entry["unit"]) == (
            f"干部{i}",
            "社区党支部书记",
            "东马社区",
        )
        assert (entry["category"], entry["category_label"]) == ("cadre", "干部")
    page = c.api.read(f"{c.path}/appraisees", c.cadres[0], limit=2, offset=3)
    assert [a["appraisee_id"] for a in page["items"]] == c.appraisees[3:]

    c.open()
    c.vote()
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    c.send(c.organizer, "results.propose")
    # A draft proposal: its makers and supervisors read it, cadres only once approved.
    results = c.api.read(f"{c.path}/results", c.committee)["results"]
    assert {r["appraisee_id"] for r in results} == set(c.appraisees)
    names = {a["appraisee_id"]: a["name"] for a in roster["items"]}
    for result in results:
        assert result["name"] == names[result["appraisee_id"]]
        assert result["category_label"] == "干部"
        assert result["grade_label"] == labels["grades"].get(result["grade"])
    assert {r["grade_label"] for r in results} <= {"优秀", "称职", "不称职", None}


def test_the_roster_of_an_unknown_campaign_is_404(harness: Harness, client: FlaskClient) -> None:
    api = Api(client, harness)
    reader = api.register("cadre", name="某人")
    missing = api.get("/api/v1/campaigns/00000000-0000-4000-8000-000000000000/appraisees", reader)
    assert missing.status_code == 404


def test_ballots_name_their_signers_and_tellers_to_those_who_may_see_them(
    harness: Harness, client: FlaskClient
) -> None:
    """Inspectors and auditors see who signed each named ballot (key id, actor, name);
    the organiser sees paper serials and who typed each paper entry, but no signer;
    an anonymous ballot names no one to anybody."""
    c = HttpCampaign(Api(client, harness))
    c.set_up()
    c.open()
    c.vote()
    names = {s.actor_id: f"领导{i}" for i, s in enumerate(c.leaders)}
    names |= {s.actor_id: f"干部{i}" for i, s in enumerate(c.cadres)}
    names[c.city_leader.actor_id] = "包片市级领导"
    for reader in (c.inspector, c.auditor):
        items = c.api.read(f"{c.path}/ballots", reader, limit=100)["items"]
        assert len(items) == len(c.casts)
        for ballot in items:
            group = c.groups[ballot["ballot_id"]]
            named = group in {"leading_group", "city_leaders", "self"}
            assert ("signer" in ballot) is named, ballot
            if named:
                assert names[ballot["signer_actor_id"]] == ballot["signer_name"]
            paper = ballot["paper_serial"] is not None
            assert paper is (group == "resident_rep" and "entered_by" in ballot)
            if paper:
                assert ballot["paper_serial"] == c.paper_serial
                assert ballot["entered_by"] == {"actor_id": c.teller.actor_id, "name": "计票员"}
    organizer = c.api.read(f"{c.path}/ballots", c.organizer, limit=100)["items"]
    assert not any(k.startswith("signer") for b in organizer for k in b)
    [entry] = [b for b in organizer if b["paper_serial"] is not None]
    assert entry["entered_by"]["name"] == "计票员"
    receipt = c.api.read(f"/api/v1/ballots/{entry['ballot_id']}")
    assert receipt.keys().isdisjoint({"paper_serial", "entered_by", "signer", "signer_name"})
