"""deploy/backup.sh: a restored copy verifies to the same checkpoint root, on both stores."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from entrypoints.cli import main
from service.settings import Settings
from tests.support import Harness

SCRIPT = Path(__file__).parents[2] / "deploy" / "backup.sh"


def run_script(*args: str, settings: Settings) -> None:
    env = {
        **os.environ,
        "APPRAISAL_DATA_DIR": str(settings.data_dir),
        "APPRAISAL_DATABASE_URL": settings.database_url,
        "PYTHON": sys.executable,
    }
    subprocess.run([str(SCRIPT), *args], env=env, check=True, capture_output=True)


def verify(settings: Settings) -> dict:
    env = {
        "APPRAISAL_DATA_DIR": str(settings.data_dir),
        "APPRAISAL_DATABASE_URL": settings.database_url,
    }
    result = CliRunner().invoke(main, ["ledger", "verify", "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def target(harness: Harness, tmp_path: Path) -> Iterator[Settings]:
    """Where the backup is restored: a fresh data dir, and a fresh database or file."""
    original = harness.system.settings
    data_dir = tmp_path / "restored"
    if not original.is_postgres:
        url = f"sqlite:///{data_dir / 'appraisal.sqlite3'}"
        yield Settings.from_env(
            {"APPRAISAL_DATA_DIR": str(data_dir), "APPRAISAL_DATABASE_URL": url}
        )
        return
    database, schema = original.database_url.split("?schema=")
    server, name = database.rsplit("/", 1)
    restored = f"{name}_restored_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{restored}"')
    url = f"{server}/{restored}?schema={schema}"
    yield Settings.from_env({"APPRAISAL_DATA_DIR": str(data_dir), "APPRAISAL_DATABASE_URL": url})
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')


def test_restored_copy_verifies_with_the_same_root(
    harness: Harness, target: Settings, tmp_path: Path
) -> None:
    for _ in range(4):
        harness.register("evaluator")
    harness.system.ledger.checkpoint_now()
    original = harness.system.settings
    before = verify(original)
    run_script("backup", str(tmp_path / "backup"), settings=original)
    run_script("restore", str(tmp_path / "backup"), settings=target)
    after = verify(target)
    assert (after["root"], after["tree_size"], after["checkpoints"]) == (
        before["root"],
        before["tree_size"],
        before["checkpoints"],
    )
