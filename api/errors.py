"""Refusals that only the HTTP edge can give (tokens, challenges, readiness).

They subclass DomainError so that every refusal, whichever layer raises it, goes
through the one code → status table in `api.problems`.
"""

from domain.errors import DomainError


class Unauthenticated(DomainError):
    """No bearer token was presented."""

    code = "unauthorized"


class InvalidToken(DomainError):
    """A bearer token that is malformed, forged or expired."""

    code = "invalid-token"


class InvalidChallenge(DomainError):
    """A session challenge that is malformed, forged, expired or already used."""

    code = "invalid-challenge"


class NotReady(DomainError):
    code = "not-ready"


class StoreUnavailable(DomainError):
    code = "store-unavailable"


class PositionAhead(DomainError):
    """A `min_position` past the end of the ledger: no command was accepted there, so
    waiting for the read models to reach it would be waiting for nothing."""

    code = "position-ahead"
