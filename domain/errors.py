"""Domain exceptions.

Every refusal the system can give is a subclass of DomainError with a stable
`code`; the HTTP edge maps the code to a problem+json `type` URI and a status,
the CLI prints the message. Nothing below the edge knows about HTTP.
"""

from typing import Any, ClassVar


class DomainError(Exception):
    """A command or document the domain refuses, with a stable machine code."""

    code: ClassVar[str] = "domain-error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class MalformedCommand(DomainError):
    code = "malformed-command"


class BadSignature(DomainError):
    code = "bad-signature"


class UnknownKey(DomainError):
    code = "unknown-key"


class RevokedKey(DomainError):
    code = "revoked-key"


class WrongRole(DomainError):
    code = "wrong-role"


class StaleCommand(DomainError):
    code = "stale-command"


class DuplicateCommand(DomainError):
    """The same command id was already used for a different envelope."""

    code = "duplicate-command"


class Conflict(DomainError):
    """The thing being created already exists (actor id, key, campaign id)."""

    code = "conflict"


class NotFound(DomainError):
    code = "not-found"


class WrongState(DomainError):
    code = "wrong-state"


class RulesInvalid(DomainError):
    code = "rules-invalid"


class RuleViolation(DomainError):
    code = "rule-violation"


class WireLimit(MalformedCommand):
    """A body outside the wire limits (DESIGN §3: I-JSON, RFC 7493, and ours), refused
    before anything else reads it; each limit has its own code."""

    code = "wire-limit"


class InvalidJSON(WireLimit):
    """Not JSON at all: bad syntax, bad encoding, or a constant such as NaN."""

    code = "invalid-json"


class DuplicateKey(WireLimit):
    code = "duplicate-key"


class NestingTooDeep(WireLimit):
    code = "nesting-too-deep"


class IntegerOutOfRange(WireLimit):
    code = "integer-out-of-range"


class FloatNotAllowed(WireLimit):
    code = "float-not-allowed"


class DecimalOutOfRange(WireLimit):
    """A decimal string with more digits or a longer fraction than the declared bounds."""

    code = "decimal-out-of-range"


class ControlCharacter(WireLimit):
    """NUL or another C0 control character (tab and newline are allowed in free text)."""

    code = "control-character"


class LoneSurrogate(WireLimit):
    code = "lone-surrogate"


class StringTooLong(WireLimit):
    code = "string-too-long"


class InvalidDate(WireLimit):
    """Not an RFC 3339 UTC timestamp or ISO date, or no such day (2026-02-30)."""

    code = "invalid-date"
