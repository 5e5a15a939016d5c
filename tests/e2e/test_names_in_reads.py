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
