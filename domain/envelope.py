"""The signed command envelope, wire contract v1 (DESIGN §3).

The envelope is kept verbatim inside the events a command causes, so anyone can
re-verify it later with nothing but the signer's public key.
"""

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import keys, wire
from domain.canonical import canonical_json, plain_canonical_json
from domain.errors import InvalidDate, MalformedCommand, StaleCommand

COMMAND_PREFIX = b"appraisal-command/v1\n"
SESSION_PREFIX = b"appraisal-session/v1\n"
REPLAY_WINDOW = timedelta(minutes=10)
# RFC 3339 §5.6 in UTC: `Z` (or `z`) or `+00:00`, `T` (or `t`), any fraction of a
# second up to nanoseconds (kept to the microsecond). No leap second (`:60`): no
# datetime holds one.
TIMESTAMP_PATTERN = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(?:[Zz]|\+00:00)"
)
COMMAND_TYPE_PATTERN = re.compile(r"^[a-z_]+\.[a-z_]+$")
CANONICAL_UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Envelope:
    command: Mapping[str, Any]
    signer: str
    signature: str
    # The command's JCS bytes when the parser already has them (see canonical_command).
    known_canonical: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def command_id(self) -> str:
        return self.command["id"]

    @property
    def command_type(self) -> str:
        return self.command["type"]

    @property
    def issued_at(self) -> datetime:
        return parse_timestamp(self.command["issued_at"])

    @cached_property
    def canonical_command(self) -> bytes:
        """The command's JCS bytes, computed once: the signature and the digest both cover it."""
        if self.known_canonical is not None:
            return self.known_canonical
        return canonical_json(self.command)

    def signing_input(self) -> bytes:
        return COMMAND_PREFIX + self.canonical_command

    def verify(self, public_key: bytes) -> None:
        keys.verify(public_key, self.signing_input(), self.signature)

    def to_json(self) -> dict[str, Any]:
        return {"command": dict(self.command), "signer": self.signer, "signature": self.signature}

    def digest(self) -> str:
        """Identity of the whole envelope, for idempotency comparisons: the SHA-256 of the
        JCS of `to_json()`, written out around the cached command (keys in JCS order)."""
        canonical = b"".join(
            (
                b'{"command":',
                self.canonical_command,
                b',"signature":',
                canonical_json(self.signature),
                b',"signer":',
                canonical_json(self.signer),
                b"}",
            )
        )
        return hashlib.sha256(canonical).hexdigest()


def parse_timestamp(text: Any, field: str = "issued_at") -> datetime:
    """An RFC 3339 UTC timestamp, in any of its forms, that names a real instant."""
    match = TIMESTAMP_PATTERN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidDate(
            f"{field} must be an RFC 3339 UTC timestamp such as 2026-01-10T09:30:00Z "
            "(or +00:00, with or without fractions of a second)",
            field=field,
        )
    *parts, fraction = match.groups()
    year, month, day, hour, minute, second = map(int, parts)
    microsecond = int((fraction or "")[:6].ljust(6, "0"))
    try:
        return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)
    except ValueError:
        raise InvalidDate(f"{field} {text} is not a real date and time", field=field) from None


def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_uuid(value: Any, field: str) -> str:
    """Return the canonical lowercase form of a UUID string field."""
    if type(value) is str and CANONICAL_UUID_PATTERN.fullmatch(value):
        return value  # exactly the strings str(uuid.UUID(value)) gives back unchanged
    if not isinstance(value, str):
        raise MalformedCommand(f"{field} must be a UUID string", field=field)
    try:
        parsed = uuid.UUID(value)
    except ValueError as exc:
        raise MalformedCommand(f"{field} must be a UUID string", field=field) from exc
    if str(parsed) != value:
        raise MalformedCommand(f"{field} must be a lowercase hyphenated UUID", field=field)
    return value


def parse_envelope(document: Any) -> Envelope:
    """Check the envelope's shape; says nothing yet about who signed it."""
    wire.check(document)
    if not isinstance(document, Mapping):
        raise MalformedCommand("the envelope must be a JSON object")
    extra = set(document) - {"command", "signer", "signature"}
    if extra:
        raise MalformedCommand(f"unknown envelope fields: {', '.join(sorted(extra))}")
    command = document.get("command")
    signer = document.get("signer")
    signature = document.get("signature")
    if not isinstance(command, Mapping):
        raise MalformedCommand("envelope.command must be a JSON object")
    if not isinstance(signer, str) or not keys.KEY_ID_PATTERN.match(signer):
        raise MalformedCommand("envelope.signer must be a key id (32 lowercase hex digits)")
    if not isinstance(signature, str):
        raise MalformedCommand("envelope.signature must be a base64url string")
    canonical = plain_canonical_json(command)
    command_type = command.get("type")
    if not isinstance(command_type, str) or not COMMAND_TYPE_PATTERN.match(command_type):
        raise MalformedCommand("command.type must be a string like 'ballot.cast'")
    parse_uuid(command.get("id"), "id")
    parse_timestamp(command.get("issued_at"))
    return Envelope(dict(command), signer, signature, known_canonical=canonical)


def check_fresh(envelope: Envelope, now: datetime, window: timedelta = REPLAY_WINDOW) -> None:
    """Refuse commands issued outside the replay window around `now`."""
    skew = envelope.issued_at - now
    if abs(skew) > window:
        raise StaleCommand(
            f"issued_at is {abs(skew).total_seconds():.0f}s away from server time "
            f"(allowed ±{window.total_seconds():.0f}s)",
            issued_at=envelope.command["issued_at"],
        )


def seal(command: Mapping[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """Sign a command: the client side of the contract, used by scripts and tests."""
    wire.check(command)
    public = keys.raw_public_key(private_key)
    envelope = Envelope(command=dict(command), signer=keys.key_id(public), signature="")
    signature = keys.sign(private_key, envelope.signing_input())
    return {"command": dict(command), "signer": envelope.signer, "signature": signature}
