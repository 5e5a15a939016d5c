"""Test fixtures: every store-backed test runs on SQLite and on PostgreSQL.

PostgreSQL tests get a fresh schema in a database created for this test run;
if the server cannot be reached they fail loudly, never skip.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from service.campaign_cache import CampaignCache
from service.settings import Settings
from tests.support import Harness

# Every campaign read from memory in a test is checked against the store (it raises
# AssertionError on a difference), so every test is also a test of the campaign cache.
CampaignCache.checked = True

ADMIN_URL = os.environ.get(
    "APPRAISAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _base_url(url: str) -> str:
    return url.rsplit("/", 1)[0]


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of its own for this test run (and xdist worker), dropped afterwards."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"appraisal_test_{worker}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required for the tests and is unreachable at {ADMIN_URL}: {exc}"
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{_base_url(ADMIN_URL)}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_schema_url(database_url: str) -> str:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{database_url}?schema={schema}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_settings(request: pytest.FixtureRequest, tmp_path) -> Settings:
    data_dir = tmp_path / "data"
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'appraisal.sqlite3'}"
    else:
        url = postgres_schema_url(request.getfixturevalue("postgres_database"))
    return Settings.from_env({"APPRAISAL_DATA_DIR": str(data_dir), "APPRAISAL_DATABASE_URL": url})


@pytest.fixture
def harness(store_settings: Settings) -> Iterator[Harness]:
    with Harness.initialised(store_settings) as h:
        yield h


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the pages' screenshots go: a temporary directory, so a test run leaves the
    working tree as it was; `make screenshots` (APPRAISAL_SCREENSHOTS=docs/screenshots)
    refreshes the ones in docs/."""
    chosen = os.environ.get("APPRAISAL_SCREENSHOTS")
    if not chosen:
        return tmp_path_factory.mktemp("screenshots")
    Path(chosen).mkdir(parents=True, exist_ok=True)
    return Path(chosen)
