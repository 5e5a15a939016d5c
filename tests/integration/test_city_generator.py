"""The benchmark's city generator drives a real campaign, the same one for the same seed."""

from collections import Counter
from pathlib import Path
from uuid import UUID

import pytest

from bench import city
from domain.campaign import FINALIZED
from service.settings import Settings
from service.system import System
from tests.conftest import postgres_schema_url

COMMUNITIES = 3


def _settings(data_dir: Path, url: str | None = None) -> Settings:
    url = url or f"sqlite:///{data_dir / 'appraisal.sqlite3'}"
    return Settings.from_env({"APPRAISAL_DATA_DIR": str(data_dir), "APPRAISAL_DATABASE_URL": url})


@pytest.fixture
def other_settings(
    store_settings: Settings, request: pytest.FixtureRequest, tmp_path: Path
) -> Settings:
    """A second, empty store of the same kind, for generating the city again."""
    if store_settings.is_postgres:
        return _settings(
            tmp_path / "again", postgres_schema_url(request.getfixturevalue("postgres_database"))
        )
    return _settings(tmp_path / "again")


def test_the_same_seed_gives_the_same_city(
    store_settings: Settings, other_settings: Settings
) -> None:
    first = city.generate(store_settings, COMMUNITIES)
    again = city.generate(other_settings, COMMUNITIES)
    assert first.proposal_hash == again.proposal_hash
    assert (first.campaign_id, first.ledger_size) == (again.campaign_id, again.ledger_size)
    assert first.log_public_key != again.log_public_key  # each store has its own log key


def test_another_seed_gives_another_city(tmp_path: Path) -> None:
    first = city.generate(_settings(tmp_path / "first"), COMMUNITIES)
    other = city.generate(_settings(tmp_path / "other"), COMMUNITIES, seed=city.SEED + 1)
    assert other.proposal_hash != first.proposal_hash


def test_a_city_has_the_shape_of_seed_000(store_settings: Settings) -> None:
    generated = city.generate(store_settings, COMMUNITIES)
    assert generated.status == FINALIZED
    assert generated.appraisees == COMMUNITIES * len(city.POSITIONS)
    system = System.open(store_settings)
    try:
        campaign = system.app.find(UUID(generated.campaign_id))
        meetings = system.app.load_many(UUID(m) for m in campaign.meetings)
    finally:
        system.close()
    assert len(meetings) == COMMUNITIES
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for meeting in meetings.values():
        issued = meeting.issued
        participants = sum(issued.values())
        assert 36 <= participants <= 44
        assert issued["leading_group"] == 3 and issued["city_leaders"] == 1
        assert issued["self"] == len(city.POSITIONS)
        assert issued["unit_rep"] >= 3 and issued["resident_rep"] >= 0.4 * participants
        for group in meeting.closed["reconciliation"].values():
            reasons.update(group.pop("invalid_reasons"))
            counts.update(group)
    assert counts["issued"] == generated.issued
    assert counts["cast"] == generated.ballots
    assert counts["issued"] == counts["cast"] + counts["unused"]
    assert counts["cast"] == counts["valid"] + counts["invalid"]
    assert counts["unused"] == 2 * COMMUNITIES  # one unit and one resident credential each
    assert counts["abstentions"] > 0
    assert counts["invalid"] == reasons["excess_choice_share:excellent"] > 0
    results = campaign.proposal["results"]
    assert len(results) == generated.appraisees
    assert all(r["status"] == "complete" and r["grade"] for r in results)
    assert campaign.proposal["hash"] == generated.proposal_hash
