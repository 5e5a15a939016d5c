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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ApiOptions":
        env = os.environ if environ is None else environ
        secret = env.get("APPRAISAL_SESSION_SECRET") or None
        if secret is not None and len(secret) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"APPRAISAL_SESSION_SECRET must be at least {MIN_SECRET_LENGTH} characters"
            )
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
