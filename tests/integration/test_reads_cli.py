"""`appraisal campaigns list` and `appraisal results show` on both stores: the read
models on the terminal, with names and the rules' labels instead of ids and codes."""

import json
import uuid
from typing import Any

from click.testing import CliRunner, Result

from bootstrap import Services
from entrypoints.cli import main
from entrypoints.demo import load_rules, run_demo
from projections import catch_up, queries
from service.settings import Settings
from tests.integration.test_excel import RULE_FILES, RuleLabels, env_of
from tests.support import Harness


def cli(settings: Settings, *args: str) -> Result:
    runner = CliRunner()
    return runner.invoke(main, list(args), env={**env_of(settings), "COLUMNS": "400"})


def test_campaigns_and_results_read_in_labels(store_settings: Settings) -> None:
    summary = run_demo(store_settings, lambda _: None)
    services = Services.open(store_settings)
    try:
        catch_up(services.read)
        listed = queries.campaigns(services.read, limit=None)["items"]
        results = {
            c["campaign_id"]: queries.results(services.read, c["campaign_id"], roles={"auditor"})
            for c in summary["campaigns"]
        }
    finally:
        services.close()

    as_json = cli(store_settings, "campaigns", "list", "--json")
    assert as_json.exit_code == 0 and json.loads(as_json.stdout) == listed
    table = cli(store_settings, "campaigns", "list")
    assert table.exit_code == 0
    for campaign in listed:
        line = next(line for line in table.stdout.splitlines() if campaign["campaign_id"] in line)
        assert campaign["title"] in line and "已定案" in line and "finalized" not in line

    for demo_campaign, rule_file in zip(summary["campaigns"], RULE_FILES, strict=True):
        campaign_id = demo_campaign["campaign_id"]
        labels = RuleLabels(load_rules(rule_file))
        shown = cli(store_settings, "results", "show", campaign_id, "--json")
        assert json.loads(shown.stdout) == results[campaign_id]
        table = cli(store_settings, "results", "show", campaign_id)
        assert table.exit_code == 0, table.output
        people = {who["appraisee_id"]: who for who in demo_campaign["roster"]}
        lines = table.stdout.splitlines()
        for result in results[campaign_id]["results"]:
            who: dict[str, Any] = people[result["appraisee_id"]]
            row = next(
                line
                for line in lines
                if f" {who['name']} " in line and f" {who['position']} " in line
            )
            category = labels.category(result["category"])
            grade = labels.grade(result["category"], result["grade"])
            for text in (who["unit"], category, grade, result["score"]):
                assert text in row, (text, row)
            for code, label in ((result["category"], category), (result["grade"], grade)):
                assert label == code or f" {code} " not in row, (code, row)


def test_an_unknown_campaign_is_one_line(harness: Harness) -> None:
    unknown = str(uuid.uuid4())
    shown = cli(harness.system.settings, "results", "show", unknown)
    assert shown.exit_code == 1
    assert shown.stderr.strip().splitlines() == [f"error: no campaign {unknown}"]
    empty = cli(harness.system.settings, "campaigns", "list", "--json")
    assert empty.exit_code == 0 and json.loads(empty.stdout) == []
