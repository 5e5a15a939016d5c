"""`appraisal demo` runs both sample campaigns through the real CLI on both stores."""

import json

from click.testing import CliRunner

from entrypoints.cli import main
from service.settings import Settings


def test_demo_runs_both_campaigns_to_finalisation(store_settings: Settings) -> None:
    env = {
        "APPRAISAL_DATA_DIR": str(store_settings.data_dir),
        "APPRAISAL_DATABASE_URL": store_settings.database_url,
    }
    result = CliRunner().invoke(main, ["demo", "--json"], env=env)
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert output["audit"]["ok"] and output["audit"]["tree_size"] == output["bundle"]["tree_size"]
    campaigns = output["campaigns"]
    assert [c["status"] for c in campaigns] == ["finalized", "finalized"]
    flags = {flag for c in campaigns for row in c["results"] for flag in row["flags"]}
    assert "linked_rule:party_building_not_good" in flags
    adjusted = [row for c in campaigns for row in c["results"] if row["adjustment_reason"]]
    assert len(adjusted) == 2 and all(r["grade"] != r["computed_grade"] for r in adjusted)
    ledger = CliRunner().invoke(main, ["ledger", "verify"], env=env)
    assert ledger.exit_code == 0 and "verified" in ledger.output


def test_the_demo_speaks_the_rules_labels_not_codes(store_settings: Settings) -> None:
    """What an office clerk reads: categories, grades, flags and statuses in the rules'
    Chinese words, and 职务 beside each name (seed 000 has two 傅海 in one community)."""
    env = {
        "APPRAISAL_DATA_DIR": str(store_settings.data_dir),
        "APPRAISAL_DATABASE_URL": store_settings.database_url,
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(main, ["demo"], env=env)
    assert result.exit_code == 0, result.output
    for code in ("cadre", "secretary", "linked_rule", "member_reps", "finalized", "unit "):
        assert code not in result.output, code
    assert "职务" in result.output and "联动规则：" in result.output
    assert "离线审计：通过" in result.output
    namesakes = [line for line in result.output.splitlines() if "│ 傅海 " in line]
    assert len(namesakes) == 2 and namesakes[0].split("│")[3] != namesakes[1].split("│")[3]
