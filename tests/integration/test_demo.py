"""`appraisal demo` runs both sample campaigns through the real CLI on both stores."""

from click.testing import CliRunner

from service.cli import main
from service.settings import Settings


def test_demo_runs_both_campaigns_to_finalisation(store_settings: Settings) -> None:
    env = {
        "APPRAISAL_DATA_DIR": str(store_settings.data_dir),
        "APPRAISAL_DATABASE_URL": store_settings.database_url,
        "COLUMNS": "200",
    }
    result = CliRunner().invoke(main, ["demo"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.count("— finalized") == 2
    assert "linked_rule:party_building_not_good" in result.output
    assert "调整" in result.output
    verify = CliRunner().invoke(main, ["ledger", "verify"], env=env)
    assert verify.exit_code == 0 and "verified" in verify.output
