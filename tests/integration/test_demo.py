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
