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
