"""Every failure leaves the API as RFC 9457 `application/problem+json`.

Refusals are exceptions raised anywhere below (domain, service, this edge); they
are mapped to an HTTP status here, once, by `STATUS_BY_ERROR`. Failures of HTTP
itself (routing, methods, sizes, media types, validation) get their code from
`HTTP_CODES`. The `type` member is a stable URI per code, so clients branch on
it rather than on wording.
"""

import http
import json
import logging
from collections.abc import Mapping
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from flask import Response, g, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from api.errors import (
    InvalidChallenge,
    InvalidToken,
    NotReady,
    PositionAhead,
    StoreUnavailable,
    Unauthenticated,
)
from api.problem_language import language_of, translated
from api.schemas import ProblemSchema
from domain import wire
from domain.errors import (
    BadSignature,
    Conflict,
    ControlCharacter,
    DecimalOutOfRange,
    DomainError,
    DuplicateCommand,
    DuplicateKey,
    FloatNotAllowed,
    IntegerOutOfRange,
    InvalidDate,
    InvalidJSON,
    LoneSurrogate,
    MalformedCommand,
    NestingTooDeep,
    NotFound,
    RevokedKey,
    RulesInvalid,
    RuleViolation,
    StaleCommand,
    StringTooLong,
    UnknownKey,
    WireLimit,
    WrongRole,
    WrongState,
)
from domain.rules import MAX_DECIMAL_DIGITS, MAX_DECIMAL_SCALE
from projections import ProjectionBehind
from service.ledger import ProofUnavailable
from service.recorders import LedgerCorrupt
from service.system import NotInitialised
from service.witnessing import WitnessUnavailable

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://appraisal-ledger.example/problems/"
REALM = 'realm="appraisal-ledger"'

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    InvalidJSON: 400,
    # The signer (of a command or of a session challenge) could not be authenticated.
    BadSignature: 401,
    UnknownKey: 401,
    RevokedKey: 401,
    InvalidChallenge: 401,
    Unauthenticated: 401,
    InvalidToken: 401,
    # Authenticated, but the signer's roles do not allow it.
    WrongRole: 403,
    NotFound: 404,
    ProofUnavailable: 404,
    DuplicateCommand: 409,
    Conflict: 409,
    WrongState: 409,
    MalformedCommand: 422,
    # Outside the wire limits (duplicate-key, nesting-too-deep, integer-out-of-range, …).
    WireLimit: 422,
    StaleCommand: 422,
    RulesInvalid: 422,
    RuleViolation: 422,
    PositionAhead: 422,
    NotInitialised: 503,
    # The witnesses' quorum did not cosign a head for a tally to rest on.
    WitnessUnavailable: 503,
    NotReady: 503,
    StoreUnavailable: 503,
    # The read models have not reached the asked-for `min_position` in time.
    ProjectionBehind: 503,
    # Any refusal not listed above (a new domain error) is a semantic one.
    DomainError: 422,
}

# What each wire limit refuses (DESIGN §3), for the OpenAPI document; the limits
# themselves live in domain.wire, domain.fields, domain.rules and domain.envelope.
WIRE_LIMITS: tuple[tuple[type[WireLimit], str], ...] = (
    (InvalidJSON, "the body is not JSON (syntax, encoding, `NaN`, `Infinity`)"),
    (DuplicateKey, "an object names a key twice (I-JSON: no last-one-wins)"),
    (NestingTooDeep, f"objects and arrays nested more than {wire.MAX_DEPTH} deep"),
    (IntegerOutOfRange, "an integer beyond ±2^53 (±9007199254740992 itself is allowed)"),
    (
        FloatNotAllowed,
        "a number with a fraction or an exponent: send an integer or a decimal string",
    ),
    (
        DecimalOutOfRange,
        f"a decimal string (weights, shares, scores, points) with more than "
        f"{MAX_DECIMAL_DIGITS} digits before the point or {MAX_DECIMAL_SCALE} after it",
    ),
    (
        ControlCharacter,
        "NUL or another C0 control character in a string; tab and newline only in free "
        "text (comments, reasons, grounds, notes, descriptions, report parts), never in "
        "one-line fields (names, titles, ids, codes) or keys",
    ),
    (LoneSurrogate, "half a UTF-16 surrogate pair in a string or a key"),
    (
        StringTooLong,
        f"a string over {wire.MAX_STRING_LENGTH} characters or a key over "
        f"{wire.MAX_KEY_LENGTH}; fields have lower bounds of their own",
    ),
    (
        InvalidDate,
        "`issued_at` not an RFC 3339 UTC timestamp (`Z` or `+00:00`, a fraction of up to "
        "9 digits, no leap second), or a date or time that does not exist (2026-02-30)",
    ),
)


def wire_limits_markdown() -> str:
    """The wire limits as the OpenAPI document describes them: type, status, what."""
    lines = [
        "Wire limits, checked before anything else (signature, key, handler), each "
        f"refused with its own problem type under `{PROBLEM_BASE}`:",
        "",
        "| type | status | refused |",
        "|---|---|---|",
    ]
    lines += [f"| `{error.code}` | {status_for(error)} | {what} |" for error, what in WIRE_LIMITS]
    return "\n".join(lines)


BEARER_ERRORS = (Unauthenticated, InvalidToken)
# Seconds a client should wait before retrying a 503; the views catch up within a second.
RETRY_AFTER: dict[type[DomainError], int] = {ProjectionBehind: 1}
DEFAULT_RETRY_AFTER = 5

HTTP_CODES: dict[int, str] = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    422: "validation-failed",
    429: "too-many-requests",
    500: "internal-error",
    503: "service-unavailable",
}

STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "request_id"})

log = logging.getLogger("appraisal.http")


def status_of(error: DomainError) -> int:
    return status_for(type(error))


def status_for(kind: type[DomainError]) -> int:
    """The status of the nearest class in the table (DomainError itself catches the rest)."""
    return next(STATUS_BY_ERROR[cls] for cls in kind.__mro__ if cls in STATUS_BY_ERROR)


def problem_type(code: str) -> str:
    return PROBLEM_BASE + code


def problem_document(
    status: int, code: str, detail: str, extensions: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The problem details: extension members first, so none can replace a standard one."""
    body = {k: v for k, v in (extensions or {}).items() if k not in STANDARD_MEMBERS}
    body.update(
        type=problem_type(code),
        title=code.replace("-", " ").capitalize(),
        status=status,
        detail=detail,
    )
    return body


def domain_problem_document(error: DomainError) -> dict[str, Any]:
    return problem_document(status_of(error), error.code, error.message, error.details)


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> Response:
    body = problem_document(status, code, detail, extensions)
    language = language_of(request.accept_languages)
    body["title"], body["detail"] = translated(code, body["title"], detail, language)
    body["instance"] = request.path
    if "request_id" in g:
        body["request_id"] = g.request_id
    # backslashreplace writes a lone surrogate in a detail as its JSON escape, so even
    # an echo of the rawest input stays a valid UTF-8 document.
    text = json.dumps(body, ensure_ascii=False, default=str)
    response = Response(
        text.encode("utf-8", "backslashreplace"), status=status, mimetype=PROBLEM_JSON
    )
    response.headers.update(headers or {})
    response.headers["Content-Language"] = language
    response.vary.add("Accept-Language")
    g.problem_code = code
    return response


def domain_problem(error: DomainError) -> Response:
    status = status_of(error)
    headers = {}
    if status == 401:
        scheme = "Bearer" if isinstance(error, BEARER_ERRORS) else "Signature"
        headers["WWW-Authenticate"] = f"{scheme} {REALM}"
    if status == 503:
        headers["Retry-After"] = str(RETRY_AFTER.get(type(error), DEFAULT_RETRY_AFTER))
    return problem(status, error.code, error.message, headers=headers, extensions=error.details)


def http_problem(error: HTTPException) -> Response:
    status = error.code or 500
    code = HTTP_CODES.get(status) or http.HTTPStatus(status).phrase.lower().replace(" ", "-")
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    data = getattr(error, "data", None) or {}
    members: dict[str, Any] = {}
    if "messages" in data:
        members["errors"] = data["messages"]
        detail = "the request does not match the documented schema; see `errors`"
    else:
        detail = error.description or http.HTTPStatus(status).phrase
    return problem(status, code, detail, headers=headers, extensions=members)


def unexpected_problem(error: Exception) -> Response:
    if isinstance(error, OperationalError | InterfaceError):
        log.warning("store unavailable: %s", error)
        return domain_problem(StoreUnavailable("the store cannot be reached; retry shortly"))
    if isinstance(error, LedgerCorrupt):
        log.error("ledger corrupt at position %s: %s", error.position, error)
        return problem(
            500, "ledger-corrupt", "the ledger contradicts itself; the server log names where"
        )
    log.exception("unhandled error")
    return problem(500, "internal-error", "the server failed to handle the request")


class ProblemApi(Api):
    """flask-smorest's Api, answering and documenting every error as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        self._app.register_error_handler(HTTPException, http_problem)
        self._app.register_error_handler(DomainError, domain_problem)
        self._app.register_error_handler(Exception, unexpected_problem)

    def _register_responses(self) -> None:
        """Document the shared error responses with the problem media type."""
        for status in http.HTTPStatus:
            if status < 400:
                continue
            response = {"description": status.phrase, "schema": self.ERROR_SCHEMA}
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any refusal, as problem details", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)
