"""Throwaway stores for workloads: a fresh PostgreSQL database or SQLite file each time.

Why fresh: a workload must never measure another run's leftovers, and must leave none.
"""

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from entrypoints.signing import Signer
from service.settings import Settings
from service.system import System, initialise

ADMIN_URL = os.environ.get(
    "APPRAISAL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new database `bench_<random>`, dropped afterwards even when the workload fails."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    create_database(name)
    try:
        yield database_url(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def database_url(name: str) -> str:
    """The URL of database `name` on the harness's server."""
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def create_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_exists(name: str) -> bool:
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


def drop_kept_databases(prefix: str) -> None:
    """Drop every database whose name starts with `prefix` (the kept cities')."""
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        names = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall()
        for (name,) in names:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def postgres_schema(database_url: str, schema: str) -> str:
    """A store URL for a new schema, so one database can hold several stores side by side."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return f"{database_url}?schema={schema}"


def backend_pids(database_url: str) -> list[int] | None:
    """The server processes serving this database, when the server runs on this machine
    (so that their CPU time can be read); None when it does not."""
    host = psycopg.conninfo.conninfo_to_dict(database_url).get("host", "")
    if host not in ("", "localhost", "127.0.0.1", "::1") and not str(host).startswith("/"):
        return None
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def postgres_settle(database_url: str) -> None:
    """Fresh planner statistics and a checkpoint after a bulk load, as a production
    database would have by the time it is large, so measurements start from steady state."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def postgres_analyze(database_url: str) -> None:
    """Fresh planner statistics, as autovacuum's analyze would have them."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def sqlite_settle(path: Path) -> None:
    """SQLite's counterpart of `postgres_settle`: statistics, and an emptied write-ahead log."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


@contextmanager
def opened(data_dir: Path, database_url: str) -> Iterator[System]:
    """An initialised system on the given store, closed afterwards."""
    settings = Settings.from_env(
        {"APPRAISAL_DATA_DIR": str(data_dir), "APPRAISAL_DATABASE_URL": database_url}
    )
    initialise(settings, Signer("admin").public_key)
    system = System.open(settings)
    try:
        yield system
    finally:
        system.close()


def postgres_version() -> str:
    """The server's `SELECT version()`, for the machine line of the report."""
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=10) as conn:
            row = conn.execute("SELECT version()").fetchone()
    except psycopg.OperationalError as exc:
        return f"unreachable at {ADMIN_URL}: {exc}".strip()
    return str(row[0]) if row else "unknown"
