"""Reads by role (issue 15): a draft proposal only to its makers and supervisors; a
cadre reads only their own appraisee's disputes, plans and explanation."""

from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient

from tests.e2e.conftest import assert_problem
from tests.support import Harness
from tests.support.http import HttpCampaign, proposed_campaign
from tests.support.scenario import new_id


@pytest.fixture
def proposed(harness: Harness, client: FlaskClient) -> HttpCampaign:
    """Seed 000's campaign voted, closed and proposed, not yet approved."""
    return proposed_campaign(client, harness)


def test_a_draft_proposal_is_read_only_by_its_makers_and_supervisors(
    proposed: HttpCampaign,
) -> None:
    c, api = proposed, proposed.api
    for reader in (c.organizer, c.committee, c.inspector, c.auditor, api.harness.admin):
        assert len(api.read(f"{c.path}/results", reader)["results"]) == 4
    for outsider in (c.leaders[0], c.teller, c.cadres[0]):
        response = api.get(f"{c.path}/results", outsider, min_position=api.position)
        assert_problem(response, 403, "wrong-role")
    own = api.get(f"{c.path}/results/{c.appraisees[0]}/explanation", c.cadres[0])
    assert_problem(own, 403, "wrong-role")

    proposal = api.read(c.path, c.organizer)["proposal_hash"]
    c.send(c.committee, "results.approve", proposal_hash=proposal, adjustments=[])
    assert len(api.read(f"{c.path}/results", c.leaders[0])["results"]) == 4
    own = api.read(f"{c.path}/results/{c.appraisees[0]}/explanation", c.cadres[0])
    assert own["grade"]["grade"]


def test_a_cadre_reads_only_their_own_disputes_and_plans(proposed: HttpCampaign) -> None:
    c, api = proposed, proposed.api
    mine, theirs = c.appraisees[0], c.appraisees[1]
    for who, appraisee in ((c.cadres[0], mine), (c.cadres[1], theirs)):
        c.send(who, "dispute.lodge", dispute_id=new_id(), appraisee_id=appraisee, grounds="不服")
    deadline = (date.today() + timedelta(days=30)).isoformat()
    for appraisee in (mine, theirs):
        c.send(
            c.organizer,
            "rectification.create",
            plan_id=new_id(),
            appraisee_id=appraisee,
            items=[{"item_id": "1", "description": "整改", "deadline": deadline}],
        )

    assert api.read(f"{c.path}/disputes", c.inspector)["total"] == 2
    listed = api.read(f"{c.path}/disputes", c.cadres[0])["items"]
    assert [d["appraisee_id"] for d in listed] == [mine]
    plans = api.read("/api/v1/rectifications", c.cadres[0], campaign_id=c.id)["items"]
    assert [p["appraisee_id"] for p in plans] == [mine]
    assert api.read("/api/v1/rectifications", c.organizer)["total"] == 2

    asked = api.get(f"{c.path}/disputes", c.cadres[0], appraisee_id=theirs)
    assert_problem(asked, 403, "wrong-role")
    asked = api.get("/api/v1/rectifications", c.cadres[0], campaign_id=c.id, appraisee_id=theirs)
    assert_problem(asked, 403, "wrong-role")
    assert_problem(api.get("/api/v1/rectifications", c.cadres[0]), 403, "wrong-role")

    stranger = api.register("cadre", name="别处干部")  # on no roster
    for path, params in (
        (f"{c.path}/disputes", {}),
        ("/api/v1/rectifications", {"campaign_id": c.id}),
    ):
        assert_problem(api.get(path, stranger, **params), 403, "wrong-role")
