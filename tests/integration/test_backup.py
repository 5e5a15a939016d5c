"""deploy/backup.sh: a restored copy verifies to the same checkpoint root, on both stores."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from entrypoints.cli import main
from service.keyfiles import read_private_key
from service.settings import Settings
from tests.support import Harness

SCRIPT = Path(__file__).parents[2] / "deploy" / "backup.sh"


def environment(settings: Settings) -> dict[str, str]:
    env = {
        "APPRAISAL_DATA_DIR": str(settings.data_dir),
        "APPRAISAL_DATABASE_URL": settings.database_url,
    }
    if settings.log_key_file is not None:
        env["APPRAISAL_LOG_KEY_FILE"] = str(settings.log_key_file)
    return env


def run_script(*args: str, settings: Settings) -> None:
    env = {**os.environ, **environment(settings), "PYTHON": sys.executable}
    subprocess.run([str(SCRIPT), *args], env=env, check=True, capture_output=True)


def verify(settings: Settings) -> dict:
    result = CliRunner().invoke(main, ["ledger", "verify", "--json"], env=environment(settings))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def target(harness: Harness, tmp_path: Path) -> Iterator[Settings]:
    """Where the backup is restored: a fresh data dir, and a fresh database or file; the
    log key comes from its custodian, not from the backup."""
    original = harness.system.settings
    data_dir = tmp_path / "restored"
    key = str(original.log_key_path)
    if not original.is_postgres:
        url = f"sqlite:///{data_dir / 'appraisal.sqlite3'}"
        yield Settings.from_env(
            {
                "APPRAISAL_DATA_DIR": str(data_dir),
                "APPRAISAL_DATABASE_URL": url,
                "APPRAISAL_LOG_KEY_FILE": key,
            }
        )
        return
    database, schema = original.database_url.split("?schema=")
    server, name = database.rsplit("/", 1)
    restored = f"{name}_restored_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{restored}"')
    url = f"{server}/{restored}?schema={schema}"
    yield Settings.from_env(
        {
            "APPRAISAL_DATA_DIR": str(data_dir),
            "APPRAISAL_DATABASE_URL": url,
            "APPRAISAL_LOG_KEY_FILE": key,
        }
    )
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


def test_a_backup_never_holds_the_log_key(harness: Harness, tmp_path: Path) -> None:
    """Even with the key in the data dir (the default), the backup has no copy of it."""
    harness.register("evaluator")
    settings = harness.system.settings
    key = settings.log_key_path
    assert key.parent == settings.data_dir and key.exists()
    secret = key.read_bytes()
    body = b"".join(line for line in secret.splitlines() if not line.startswith(b"-----"))
    raw = read_private_key(key).private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    run_script("backup", str(tmp_path / "backup"), settings=settings)
    files = [p for p in (tmp_path / "backup").rglob("*") if p.is_file()]
    assert files and "log.key" not in {p.name for p in files}
    for path in files:
        content = path.read_bytes()
        assert body not in content and raw not in content, path


def test_the_log_key_can_live_apart(store_settings: Settings, tmp_path: Path) -> None:
    custody = tmp_path / "custodian" / "log.key"
    settings = replace(store_settings, log_key_file=custody)
    with Harness.initialised(settings) as h:
        h.register("evaluator")
        assert custody.exists() and oct(custody.stat().st_mode & 0o777) == "0o600"
        assert not (settings.data_dir / "log.key").exists()
        report = verify(settings)
        assert report["ok"] and report["tree_size"] == h.size
    without = replace(settings, log_key_file=None)
    result = CliRunner().invoke(main, ["ledger", "verify", "--json"], env=environment(without))
    assert result.exit_code == 1 and "no log key" in result.output


def modes(root: Path) -> dict[str, int]:
    """Every path under `root` (itself included) and its permission bits."""
    return {str(p.relative_to(root)): p.stat().st_mode & 0o777 for p in [root, *root.rglob("*")]}


def test_backups_and_restored_stores_are_private(
    harness: Harness, target: Settings, tmp_path: Path
) -> None:
    """A backup holds every named score: 0600 files in 0700 directories, whatever the umask."""
    harness.register("evaluator")
    backup = tmp_path / "backup"
    old = os.umask(0o022)
    try:
        run_script("backup", str(backup), settings=harness.system.settings)
        run_script("restore", str(backup), settings=target)
    finally:
        os.umask(old)
    found = modes(backup)
    assert found.pop(".") == 0o700
    assert found and set(found.values()) == {0o600}, found
    restored = modes(target.data_dir)
    assert restored.pop(".") == 0o700
    assert set(restored.values()) <= {0o600}, restored
