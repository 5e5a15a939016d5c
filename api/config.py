"""HTTP-only settings, read from the environment next to the store's `Settings`.

They live here rather than in `service.settings` because only the web edge uses
them: body size limit, session lifetimes and secret, logging, checkpointer.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass

from service.settings import SettingsError

MIB = 1024 * 1024
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class ApiOptions:
    max_body_bytes: int = MIB
    challenge_ttl_seconds: int = 120
    token_ttl_seconds: int = 900
    session_secret: str | None = None
    log_level: str = "INFO"
    checkpointer: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "ApiOptions":
        env = os.environ if environ is None else environ
        secret = env.get("APPRAISAL_SESSION_SECRET") or None
        if secret is not None and len(secret) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"APPRAISAL_SESSION_SECRET must be at least {MIN_SECRET_LENGTH} characters"
            )
        return cls(
            max_body_bytes=_positive(env, "APPRAISAL_MAX_BODY_BYTES", MIB),
            challenge_ttl_seconds=_positive(env, "APPRAISAL_CHALLENGE_TTL_SECONDS", 120),
            token_ttl_seconds=_positive(env, "APPRAISAL_TOKEN_TTL_SECONDS", 900),
            session_secret=secret,
            log_level=(env.get("APPRAISAL_LOG_LEVEL") or "INFO").upper(),
            checkpointer=(env.get("APPRAISAL_CHECKPOINTER") or "on").lower()
            not in ("0", "off", "false", "no"),
        )


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < 1:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value
