"""The store's files, key files and the data directory are private (issue 15): 0600
files in 0700 directories, whatever the umask, on both stores."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from entrypoints.cli import main
from service.keyfiles import private_dir, write_secret
from service.settings import Settings
from tests.support import Harness


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The common default, under which files would be world-readable (0644)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_data_directory_database_and_log_key_are_private(store_settings: Settings) -> None:
    with Harness.initialised(store_settings) as harness:
        harness.register("evaluator")
        settings = harness.system.settings
        assert mode(settings.data_dir) == 0o700
        assert mode(settings.log_key_path) == 0o600
        files = [p for p in settings.data_dir.rglob("*") if p.is_file()]
        if not settings.is_postgres:
            database = Path(settings.store_env()["SQLITE_DBNAME"])
            assert database in files and database.with_name(database.name + "-wal") in files
        assert files and {mode(p) for p in files} == {0o600}, {str(p): mode(p) for p in files}


def test_an_existing_world_readable_sqlite_file_is_made_private(tmp_path: Path) -> None:
    database = tmp_path / "data" / "appraisal.sqlite3"
    database.parent.mkdir()
    database.touch(mode=0o644)
    settings = Settings.from_env(
        {
            "APPRAISAL_DATA_DIR": str(database.parent),
            "APPRAISAL_DATABASE_URL": f"sqlite:///{database}",
        }
    )
    with Harness.initialised(settings):
        assert mode(database) == 0o600
        assert mode(database.parent) == 0o700


def test_a_key_written_into_new_directories_is_private(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    result = CliRunner().invoke(
        main, ["keys", "new", "--output", str(tmp_path / "a" / "b" / "k.pem")]
    )
    assert result.exit_code == 0, result.output
    assert mode(tmp_path / "a") == mode(tmp_path / "a" / "b") == 0o700
    assert mode(tmp_path / "a" / "b" / "k.pem") == 0o600
    assert mode(tmp_path) == 0o755, "a directory that already existed is left alone"


def test_private_dir_and_secret_ignore_the_umask(tmp_path: Path) -> None:
    private_dir(tmp_path / "x")
    write_secret(tmp_path / "x" / "s", b"secret")
    assert (mode(tmp_path / "x"), mode(tmp_path / "x" / "s")) == (0o700, 0o600)
