"""Configuration from the environment, translated to the event store's own settings here
and nowhere else."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

APPLICATION_NAME = "appraisal"


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    log_origin: str
    replay_window_seconds: int = 600
    checkpoint_interval: float = 0.5
    pool_size: int = 5
    read_database_url: str | None = None  # a streaming replica for read-model queries
    witnesses: tuple[tuple[str, str], ...] = ()  # (submission URL prefix, witness vkey)
    witness_quorum: int = 0  # how many must cosign a head that a tally binds; 0 = none set
    log_key_file: Path | None = None  # the log's private key, when kept apart from the data

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("APPRAISAL_DATA_DIR") or "./var")
        url = env.get("APPRAISAL_DATABASE_URL") or f"sqlite:///{data_dir / 'appraisal.sqlite3'}"
        return cls(
            data_dir=data_dir,
            database_url=url,
            log_origin=env.get("APPRAISAL_LOG_ORIGIN") or "appraisal-ledger.local/log",
            replay_window_seconds=_int(env, "APPRAISAL_REPLAY_WINDOW_SECONDS", 600),
            pool_size=_int(env, "APPRAISAL_DB_POOL_SIZE", 5),
            read_database_url=env.get("APPRAISAL_READ_DATABASE_URL") or None,
            **_witnesses(env),
            log_key_file=Path(env["APPRAISAL_LOG_KEY_FILE"])
            if env.get("APPRAISAL_LOG_KEY_FILE")
            else None,
        )

    @property
    def log_key_path(self) -> Path:
        """Where the log's signing key lives. Why it may live apart: whoever holds both the
        store and this key can rewrite history and re-sign it, so the key belongs with
        its custodian (`APPRAISAL_LOG_KEY_FILE`), not beside the data and its backups."""
        return self.log_key_file or self.data_dir / "log.key"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    def store_env(self) -> dict[str, str]:
        """The eventsourcing library's settings for the configured store."""
        parsed = urlparse(self.database_url)
        if parsed.scheme == "sqlite":
            path = unquote(parsed.path[1:] if parsed.path.startswith("/") else parsed.path)
            if not path or ":memory:" in path or "mode=memory" in self.database_url:
                raise SettingsError(
                    "APPRAISAL_DATABASE_URL: an in-memory SQLite store is not supported "
                    "(it breaks with threads); use a file path"
                )
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": path,
                "SQLITE_LOCK_TIMEOUT": "30",
                "APPLICATION_RECORDER_TOPIC": "service.recorders:LedgerSQLiteRecorder",
            }
        if parsed.scheme in ("postgresql", "postgres"):
            return {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                **{f"POSTGRES_{k.upper()}": str(v) for k, v in self.postgres_connection().items()},
                "POSTGRES_LOCK_TIMEOUT": "30",
                # Explicitly off: the DB-function insert path skips the table lock the
                # ledger relies on, so an inherited environment must not turn it on.
                "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
                "APPLICATION_RECORDER_TOPIC": "service.recorders:LedgerPostgresRecorder",
            }
        raise SettingsError(
            f"APPRAISAL_DATABASE_URL must start with sqlite:/// or postgresql://, "
            f"got {self.database_url!r}"
        )

    def postgres_connection(self, variable: str = "APPRAISAL_DATABASE_URL") -> dict[str, Any]:
        """A PostgreSQL URL's connection parameters, named as the library's datastore
        takes them: the store's own, or the read replica's (which copies the primary's
        schemas, so it defaults to the primary's schema)."""
        url = self.database_url if variable == "APPRAISAL_DATABASE_URL" else self.read_database_url
        parsed = urlparse(url or "")
        if parsed.scheme not in ("postgresql", "postgres"):
            raise SettingsError(f"{variable} must be a postgresql:// URL, got {url!r}")
        if not parsed.path.strip("/"):
            raise SettingsError(f"{variable}: the PostgreSQL URL names no database")
        schema = parse_qs(parsed.query).get("schema", [""])[0]
        if variable != "APPRAISAL_DATABASE_URL" and not schema:
            schema = self.postgres_connection()["schema"]
        return {
            "dbname": unquote(parsed.path.strip("/")),
            "host": parsed.hostname or "127.0.0.1",
            "port": parsed.port or 5432,
            "user": unquote(parsed.username or "postgres"),
            "password": unquote(parsed.password or ""),
            "schema": schema,
            "pool_size": self.pool_size,
            "connect_timeout": 10,
        }

    def read_replica_connection(self) -> dict[str, Any] | None:
        """Where read-model queries go when a replica is configured (PostgreSQL only)."""
        if self.read_database_url is None:
            return None
        if not self.is_postgres:
            raise SettingsError(
                "APPRAISAL_READ_DATABASE_URL needs a PostgreSQL primary (APPRAISAL_DATABASE_URL)"
            )
        return self.postgres_connection("APPRAISAL_READ_DATABASE_URL")


def _witnesses(env: Mapping[str, str]) -> dict[str, Any]:
    """APPRAISAL_WITNESSES (space-separated `URL=VKEY`) and APPRAISAL_WITNESS_QUORUM
    (default: every witness)."""
    witnesses = []
    for item in (env.get("APPRAISAL_WITNESSES") or "").split():
        url, sep, vkey = item.partition("=")
        if not sep or not url.startswith(("http://", "https://")) or not vkey:
            raise SettingsError(
                f"APPRAISAL_WITNESSES: {item!r} is not URL=VKEY with an http(s) URL"
            )
        witnesses.append((url.rstrip("/"), vkey))
    if len({vkey for _, vkey in witnesses}) != len(witnesses):
        raise SettingsError("APPRAISAL_WITNESSES names a witness twice")
    quorum = _int(env, "APPRAISAL_WITNESS_QUORUM", len(witnesses))
    if witnesses and not 1 <= quorum <= len(witnesses):
        raise SettingsError(
            f"APPRAISAL_WITNESS_QUORUM must be between 1 and {len(witnesses)}, got {quorum}"
        )
    if not witnesses and env.get("APPRAISAL_WITNESS_QUORUM"):
        raise SettingsError("APPRAISAL_WITNESS_QUORUM is set but APPRAISAL_WITNESSES is empty")
    return {"witnesses": tuple(witnesses), "witness_quorum": quorum}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
