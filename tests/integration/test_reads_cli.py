"""`appraisal campaigns list`, `results show` and `consequences show` on both stores,
through the CLI:
names and Chinese labels from the read models, and a bad
campaign id a one-line error with exit status 1."""

import json
from datetime import date, timedelta
from typing import Any

from click.testing import CliRunner, Result

from entrypoints.cli import main
from tests.support import Harness
from tests.support.scenario import CityCampaign, new_id


def cli(h: Harness, *args: str) -> Result:
    settings = h.system.settings
    env = {
        "APPRAISAL_DATA_DIR": str(settings.data_dir),
        "APPRAISAL_DATABASE_URL": settings.database_url,
    }
    return CliRunner().invoke(main, list(args), env=env)


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_and_show_with_names_and_labels(harness: Harness) -> None:
    c = CityCampaign(harness)
    c.set_up()
    listing = as_json(cli(harness, "campaigns", "list", "--json"))
    assert [(x["campaign_id"], x["status"]) for x in listing["items"]] == [(c.id, "published")]
    table = cli(harness, "campaigns", "list")
    assert table.exit_code == 0 and "述职测评中" in table.stdout and "述职评议" in table.stdout
    assert as_json(cli(harness, "campaigns", "list", "--year", "2031", "--json"))["items"] == []

    c.open()
    c.vote()
    c.close_and_propose()
    shown = as_json(cli(harness, "results", "show", c.id, "--json"))
    assert {r["appraisee_id"] for r in shown["results"]} == set(c.appraisees)
    assert {r["name"] for r in shown["results"]} == {f"干部{i}" for i in range(4)}
    text = cli(harness, "results", "show", c.id).stdout
    assert "干部0" in text and "已测算" in text
    assert all(label in text for r in shown["results"] if (label := r["grade_label"]))


def test_a_bad_campaign_is_one_line_and_exit_1(harness: Harness) -> None:
    for campaign in ("not-a-uuid", "00000000-0000-4000-8000-000000000000"):
        result = cli(harness, "results", "show", campaign)
        assert result.exit_code == 1
        assert result.output.startswith("Error: ") and result.output.count("\n") == 1


def test_consequences_show_the_missing_plan_then_the_open_one(harness: Harness) -> None:
    """Seed 000: the committee makes a cadre 不称职, so a 限期整改 falls due 90 days after
    publication; the CLI shows it missing, overdue the day after, then open once planned."""
    c = CityCampaign(harness)
    c.set_up()
    c.open()
    c.vote()
    proposal = c.close_and_propose()
    last = c.appraisees[3]
    assert as_json(cli(harness, "consequences", "show", c.id, "--json"))["items"] == []
    adjustment = {"appraisee_id": last, "grade": "incompetent", "reason": "经党委会研究确定"}
    c.send(
        c.committee,
        "results.approve",
        proposal_hash=proposal["proposal_hash"],
        adjustments=[adjustment],
    )
    c.send(c.h.admin, "results.publish", window_days=5)
    published = date.fromisoformat(
        as_json(cli(harness, "campaigns", "list", "--json"))["items"][0]["published_on"]
    )
    due = published + timedelta(days=90)

    shown = as_json(
        cli(harness, "consequences", "show", c.id, "--today", due.isoformat(), "--json")
    )
    [item] = shown["items"]
    assert (item["appraisee_id"], item["kind"], item["due"]) == (last, "rectify", due.isoformat())
    assert item["tracking"]["status"] == "missing" and not item["tracking"]["overdue"]
    late = (due + timedelta(days=1)).isoformat()
    text = cli(harness, "consequences", "show", c.id, "--today", late).stdout
    assert "干部3" in text and "限期整改" in text and "未制定整改清单，已逾期" in text
    assert "逾期 1" in text

    c.send(
        c.organizer,
        "rectification.create",
        plan_id=new_id(),
        appraisee_id=last,
        items=[{"item_id": "1", "description": "走访群众", "deadline": due.isoformat()}],
    )
    text = cli(harness, "consequences", "show", c.id, "--today", due.isoformat()).stdout
    assert "整改中" in text and "已逾期" not in text


def test_consequences_show_refuses_a_bad_campaign_or_day_in_one_line(harness: Harness) -> None:
    for campaign in ("not-a-uuid", new_id()):
        result = cli(harness, "consequences", "show", campaign)
        assert result.exit_code == 1
        assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    bad_day = cli(harness, "consequences", "show", new_id(), "--today", "2026-02-30")
    assert bad_day.exit_code == 2 and "Error: Invalid value for '--today'" in bad_day.output
