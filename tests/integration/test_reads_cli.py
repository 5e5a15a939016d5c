"""`appraisal campaigns list` and `appraisal results show` on both stores, through the CLI:
names and Chinese labels from the read models, and a bad
campaign id a one-line error with exit status 1."""

import json
from typing import Any

from click.testing import CliRunner, Result

from entrypoints.cli import main
from tests.support import Harness
from tests.support.scenario import CityCampaign


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
    assert table.exit_code == 0 and "已发布" in table.stdout and "述职评议" in table.stdout
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
