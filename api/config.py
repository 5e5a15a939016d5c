"""HTTP-only settings, read from the environment next to the store's `Settings`.

They live here rather than in `service.settings` because only the web edge uses
them: body size limit, session lifetimes and secret, logging, checkpointer, and
how this process keeps and waits for the read side.

Projections: on SQLite (one worker, one process) the server keeps the views
itself, in one `projections.ProjectionThread` per process. On PostgreSQL the
default is separate `appraisal projections run` processes, so several gunicorn
workers on several hosts don't all run one; `APPRAISAL_INPROCESS_PROJECTIONS=1`
runs it in-process there too (and `=0` turns it off on SQLite, for a separate
runner).
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from service.settings import Settings, SettingsError

MIB = 1024 * 1024
MIN_SECRET_LENGTH = 32
# The placeholder in deploy/systemd/appraisal.env.example: public, so anyone could
# forge tokens with it. A server configured with it refuses to start.
EXAMPLE_SESSION_SECRET = "change-me-to-64-random-characters-shared-by-all-api-hosts"
TRUE = ("1", "on", "true", "yes")
FALSE = ("0", "off", "false", "no")
Number = TypeVar("Number", int, float)


@dataclass(frozen=True)
class ApiOptions:
    max_body_bytes: int = MIB
    challenge_ttl_seconds: int = 120
    token_ttl_seconds: int = 900
    session_secret: str | None = None
    log_level: str = "INFO"
    checkpointer: bool = True
    # None: in-process on SQLite, a separate process on PostgreSQL.
    inprocess_projections: bool | None = None
    projection_poll_seconds: float = 0.2
    # How long a read with `?min_position=` waits for the views before a 503.
    read_wait_seconds: float = 2.0
    # /readyz fails once the views are more than this many events behind for this long.
    ready_max_lag_events: int = 1000
    ready_max_lag_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.session_secret is not None:
            check_secret(self.session_secret, "APPRAISAL_SESSION_SECRET")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ApiOptions":
        env = os.environ if environ is None else environ
        secret = env.get("APPRAISAL_SESSION_SECRET") or None
        return cls(
            max_body_bytes=_number(env, "APPRAISAL_MAX_BODY_BYTES", MIB, minimum=1),
            challenge_ttl_seconds=_number(env, "APPRAISAL_CHALLENGE_TTL_SECONDS", 120, minimum=1),
            token_ttl_seconds=_number(env, "APPRAISAL_TOKEN_TTL_SECONDS", 900, minimum=1),
            session_secret=secret,
            log_level=(env.get("APPRAISAL_LOG_LEVEL") or "INFO").upper(),
            checkpointer=_flag(env, "APPRAISAL_CHECKPOINTER") is not False,
            inprocess_projections=_flag(env, "APPRAISAL_INPROCESS_PROJECTIONS"),
            projection_poll_seconds=_number(
                env, "APPRAISAL_PROJECTION_POLL_SECONDS", 0.2, minimum=0.01
            ),
            read_wait_seconds=_number(env, "APPRAISAL_READ_WAIT_SECONDS", 2.0, minimum=0.0),
            ready_max_lag_events=_number(env, "APPRAISAL_READY_MAX_LAG_EVENTS", 1000, minimum=0),
            ready_max_lag_seconds=_number(
                env, "APPRAISAL_READY_MAX_LAG_SECONDS", 30.0, minimum=0.0
            ),
        )

    def projections_in_process(self, settings: Settings) -> bool:
        """Whether this process keeps the views: as configured, else only on SQLite."""
        if self.inprocess_projections is None:
            return not settings.is_postgres
        return self.inprocess_projections


def check_secret(secret: str, source: str) -> None:
    """Refuse a session secret anyone could know or guess: the published example, or
    one shorter than `MIN_SECRET_LENGTH` bytes."""
    if secret == EXAMPLE_SESSION_SECRET:
        raise SettingsError(
            f"{source} is the example from appraisal.env.example: set a random secret of "
            f"at least {MIN_SECRET_LENGTH} bytes (e.g. `openssl rand -hex 32`)"
        )
    if len(secret.encode()) < MIN_SECRET_LENGTH:
        raise SettingsError(f"{source} must be at least {MIN_SECRET_LENGTH} bytes")


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    """On, off, or None when unset."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return None
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise SettingsError(f"{name} must be one of {', '.join(TRUE + FALSE)}, got {raw!r}")


def _number(env: Mapping[str, str], name: str, default: Number, *, minimum: Number) -> Number:
    raw = env.get(name)
    if not raw:
        return default
    kind = type(default)
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
    if not value >= minimum:  # also refuses NaN
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value
