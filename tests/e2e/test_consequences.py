"""Consequences over HTTP, on both stores (issue 13 item 7): 不称职 → 限期整改 and the plan
it requires, tracked missing → open → closed and overdue by `today`; a committee
adjustment that lowers a grade adds it and one that lifts a grade removes it; 一般/差
in an assessment → 约谈 and 限期整改; who may read them; hostile rules refused with the
server's and `appraisal rules check`'s one message."""

import copy
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from entrypoints.cli import main
from tests.e2e.conftest import assert_problem, refused
from tests.e2e.test_seed_rules import a_meeting_of_three, approval, proposed
from tests.support import Harness
from tests.support.http import Api, HttpCampaign
from tests.support.scenario import PARTY_BUILDING, RULES, new_id

RECTIFY_INCOMPETENT = {"kind": "rectify", "grade": "incompetent", "within_days": 90}


def consequences(c: HttpCampaign, who: Any = None, **params: Any) -> dict[str, Any]:
    return c.api.read(f"{c.path}/consequences", who or c.organizer, **params)


def kinds(result: dict[str, Any]) -> list[str]:
    return [x["kind"] for x in result["consequences"]]


def results_by_id(c: HttpCampaign) -> dict[str, dict[str, Any]]:
    return {r["appraisee_id"]: r for r in c.api.read(f"{c.path}/results", c.inspector)["results"]}


def test_seed_000_incompetent_needs_a_rectification_plan_tracked_to_its_closing(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    proposal = proposed(c, RULES)  # three cadres 称职 (80.45), the fourth incomplete
    first = c.appraisees[0]
    assert all(kinds(r) == [] for r in results_by_id(c).values())
    assert consequences(c)["items"] == []  # a proposal's consequences are a draft

    # the committee lowers the first to 不称职: the approved grade, not the computed one, decides
    api.accepted(api.submit(approval(c, proposal, {first: "incompetent"})))
    [rectify] = results_by_id(c)[first]["consequences"]
    assert rectify["kind"] == "rectify" and rectify["within_days"] == 90
    assert "不称职 (incompetent)" in rectify["reason"] and "due" not in rectify
    told = api.read(f"{c.path}/results/{first}/explanation", c.inspector)["grade"]
    assert told["consequences"] == [rectify] and told["computed_grade"] == "competent"
    [item] = consequences(c)["items"]
    assert (item["appraisee_id"], item["name"], item["kind_label"]) == (first, "干部0", "限期整改")
    assert item["due"] is None and item["tracking"]["status"] == "missing"

    c.send(harness.admin, "results.publish", window_days=5)
    published = date.fromisoformat(api.read(c.path, c.organizer)["published_on"])
    due = published + timedelta(days=90)
    shown = consequences(c, today=due.isoformat())
    [item] = shown["items"]
    assert item["due"] == due.isoformat() == results_by_id(c)[first]["consequences"][0]["due"]
    assert item["tracking"] == {
        "status": "missing",
        "overdue": False,
        "plans": [],
        "overdue_items": [],
    }
    assert shown["summary"] == {
        "missing": 1,
        "open": 0,
        "closed": 0,
        "overdue": 0,
        "interviews_pending": 0,
    }
    late = consequences(c, today=(due + timedelta(days=1)).isoformat())
    assert late["items"][0]["tracking"]["overdue"] is True
    assert late["summary"]["overdue"] == 1

    plan = new_id()
    deadline = published + timedelta(days=30)
    c.send(
        c.organizer,
        "rectification.create",
        plan_id=plan,
        appraisee_id=first,
        items=[
            {"item_id": "1", "description": "走访群众", "deadline": deadline.isoformat()},
            {
                "item_id": "2",
                "description": "健全台账",
                "measures": "每月报送\n走访记录",
                "responsible": "干部0",
                "deadline": due.isoformat(),
            },
        ],
    )
    [listed] = api.read("/api/v1/rectifications", c.inspector, campaign_id=c.id)["items"]
    assert [(i["item_id"], i["measures"], i["responsible"]) for i in listed["items"]] == [
        ("1", None, None),
        ("2", "每月报送\n走访记录", "干部0"),
    ]
    for hostile in ({"responsible": "x" * 201}, {"measures": 7}, {"responsible": ""}):
        item = {"item_id": "1", "description": "d", "deadline": deadline.isoformat(), **hostile}
        envelope = c.organizer.envelope(
            "rectification.create",
            campaign_id=c.id,
            plan_id=new_id(),
            appraisee_id=first,
            items=[item],
        )
        refused(harness, client, envelope, 422, "malformed-command")
    on_time = consequences(c, today=deadline.isoformat())["items"][0]["tracking"]
    assert (on_time["status"], on_time["overdue"], on_time["plans"]) == ("open", False, [plan])
    # the plan's own deadline makes it overdue before the consequence's
    past_item = consequences(c, today=(deadline + timedelta(days=1)).isoformat())
    tracking = past_item["items"][0]["tracking"]
    assert (tracking["overdue"], tracking["overdue_items"]) == (True, ["1"])

    for item_id in ("1", "2"):
        c.api.send(
            c.cadres[0],
            "rectification.progress",
            plan_id=plan,
            item_id=item_id,
            note="已完成",
            done=True,
        )
        c.api.send(
            c.inspector,
            "rectification.check",
            plan_id=plan,
            item_id=item_id,
            passed=True,
            note="属实",
        )
    c.api.send(c.organizer, "rectification.close", plan_id=plan)
    closed = consequences(c, today=(due + timedelta(days=400)).isoformat())
    assert closed["items"][0]["tracking"]["status"] == "closed"
    assert closed["summary"] == {
        "missing": 0,
        "open": 0,
        "closed": 1,
        "overdue": 0,
        "interviews_pending": 0,
    }


def forced_rules() -> dict[str, Any]:
    """Seed 000 with places, not thresholds: one 优秀, one 称职, the rest 不称职 (advisory
    quotas, so the committee may lift), and a party-building assessment whose 一般/差
    entails 约谈 and 限期整改 (seed 002's rule)."""
    rules = copy.deepcopy(RULES)
    rules["grades"] = [
        {"code": "excellent", "max_share": "0.25", "advisory": True},
        {"code": "competent", "max_share": "0.25", "advisory": True},
        {"code": "incompetent", "label": "不称职"},
    ]
    rules["assessments"] = [PARTY_BUILDING]
    rules["consequences"] = [
        RECTIFY_INCOMPETENT,
        {"kind": "interview", "assessment": "party_building", "values": ["poor"]},
        {"kind": "rectify", "assessment": "party_building", "values": ["poor"], "within_days": 30},
        {"kind": "disposal_review", "cross_year": "disposal_review"},
    ]
    return rules


def test_an_adjustment_that_lifts_the_grade_removes_the_consequence_and_assessments_add_theirs(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up(forced_rules())
    first, second, third, fourth = c.appraisees
    c.send(
        c.organizer,
        "assessment.record",
        appraisee_id=second,
        assessment="party_building",
        value="poor",
    )
    c.send(
        c.organizer,
        "assessment.record",
        appraisee_id=first,
        assessment="party_building",
        value="good",
    )
    a_meeting_of_three(c, spread=1)
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    proposal = c.send(c.organizer, "results.propose")["proposal_hash"]
    results = results_by_id(c)
    assert [results[a]["grade"] for a in c.appraisees] == [
        "excellent",
        "competent",
        "incompetent",
        None,
    ]
    assert kinds(results[first]) == [] and kinds(results[fourth]) == []
    assert kinds(results[second]) == ["interview", "rectify"]
    assert "党建述职评议 差 (party_building = poor)" in results[second]["consequences"][0]["reason"]
    assert kinds(results[third]) == ["rectify"]

    # lifted to 称职 (the advisory quota lets it): the 不称职's 限期整改 goes with the grade
    api.accepted(api.submit(approval(c, proposal, {third: "competent"})))
    results = results_by_id(c)
    assert kinds(results[third]) == []
    assert kinds(results[second]) == ["interview", "rectify"]  # the assessment's stay
    shown = consequences(c)
    assert [(i["appraisee_id"], i["kind"]) for i in shown["items"]] == [
        (second, "interview"),
        (second, "rectify"),
    ]
    assert shown["items"][0]["tracking"] is None and shown["items"][0]["kind_label"] == "约谈"
    assert shown["summary"]["missing"] == 1

    # a cadre reads their own appraisee's only; no one else's, and evaluators nothing
    own = consequences(c, c.cadres[1])
    assert {i["appraisee_id"] for i in own["items"]} == {second}
    assert consequences(c, c.cadres[0])["items"] == []
    response = api.get(f"{c.path}/consequences", c.cadres[0], appraisee_id=second)
    assert_problem(response, 403, "wrong-role")
    assert_problem(api.get(f"{c.path}/consequences", c.leaders[0]), 403, "wrong-role")

    # 约谈 recorded as held, by a signed command, once published and only where entailed
    interview = {"appraisee_id": second, "note": "街道党工委书记约谈"}
    refused(
        harness,
        client,
        c.organizer.envelope("consequence.interview", campaign_id=c.id, **interview),
        409,
        "wrong-state",
    )
    c.send(harness.admin, "results.publish", window_days=5)
    refused(
        harness,
        client,
        c.cadres[1].envelope("consequence.interview", campaign_id=c.id, **interview),
        403,
        "wrong-role",
    )
    body = refused(
        harness,
        client,
        c.organizer.envelope(
            "consequence.interview", campaign_id=c.id, appraisee_id=third, note="无需约谈"
        ),
        422,
        "rule-violation",
    )
    assert body["appraisee_id"] == third
    assert consequences(c)["summary"]["interviews_pending"] == 1
    held = c.send(c.organizer, "consequence.interview", **interview)
    published = api.read(c.path, c.organizer)["published_on"]
    assert held["appraisee_id"] == second and held["held_on"] >= published
    refused(
        harness,
        client,
        c.organizer.envelope("consequence.interview", campaign_id=c.id, **interview),
        409,
        "conflict",
    )
    shown = consequences(c)
    assert [i["held_on"] for i in shown["items"]] == [held["held_on"], None]
    assert shown["summary"]["interviews_pending"] == 0
    assert_problem(
        api.get(f"{c.path}/consequences", c.organizer, today="2026-02-30"), 422, "validation-failed"
    )
    assert api.get(f"/api/v1/campaigns/{new_id()}/consequences", c.organizer).status_code == 404


HOSTILE = {
    "negative days": {**RECTIFY_INCOMPETENT, "within_days": -5},
    "zero days": {**RECTIFY_INCOMPETENT, "within_days": 0},
    "days beyond ten years": {**RECTIFY_INCOMPETENT, "within_days": 100000},
    "days as a string": {**RECTIFY_INCOMPETENT, "within_days": "90"},
    "days as a boolean": {**RECTIFY_INCOMPETENT, "within_days": True},
    "a rectification without a limit": {"kind": "rectify", "grade": "incompetent"},
    "an interview with a limit": {"kind": "interview", "grade": "incompetent", "within_days": 3},
    "an unknown grade": {**RECTIFY_INCOMPETENT, "grade": "incompetant"},
    "an unknown kind": {"kind": "dismissal", "grade": "incompetent"},
    "a kind that is a list": {"kind": ["rectify"], "grade": "incompetent"},
    "a grade that is an object": {"kind": "interview", "grade": {"code": "incompetent"}},
    "a cross-year flag that is a list": {"kind": "disposal_review", "cross_year": ["x"]},
    "values that are objects": {"kind": "interview", "assessment": "x", "values": [{}]},
    "no trigger": {"kind": "interview"},
    "two triggers": {"kind": "interview", "grade": "incompetent", "cross_year": "disposal_review"},
    "an undeclared assessment": {"kind": "interview", "assessment": "party", "values": ["poor"]},
    "values without an assessment": {"kind": "interview", "grade": "incompetent", "values": ["x"]},
    "an unknown cross-year flag": {"kind": "disposal_review", "cross_year": "twice"},
    "an undeclared category": {"kind": "interview", "grade": "incompetent", "category": "cader"},
    "an unknown key": {**RECTIFY_INCOMPETENT, "deadline": "2026-03-01"},
}


@pytest.mark.parametrize("consequence", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_consequences_are_refused_by_the_server_and_rules_check_alike(
    harness: Harness, client: FlaskClient, tmp_path: Path, consequence: dict[str, Any]
) -> None:
    document = copy.deepcopy(RULES)
    document["consequences"] = [consequence]
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    offline = CliRunner().invoke(main, ["rules", "check", str(path)])
    organizer = Api(client, harness).register("organizer", name="组织部")
    create = organizer.envelope(
        "campaign.create", campaign_id=new_id(), title="t", year=2025, rules=document
    )
    body = refused(harness, client, create, 422, "rules-invalid")
    assert body["detail"].startswith("/consequences/0")
    assert offline.exit_code == 1
    assert offline.stderr == f"error: {body['detail']}\n"
