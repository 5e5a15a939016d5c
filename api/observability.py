"""Request ids, structured JSON logs and request metrics, hooked around every request.

Anonymous requests — casting a ballot (a one-time credential signs it) and checking
a receipt by ballot id — must not let whoever reads the logs match a ballot to an
HTTP request (a moment, an address, a request id another log holds). Their lines
carry no request id, no duration and no path with an id in it, a time only to the
minute, and are not written when served: they are held and written in shuffled
batches once the minute is over, so neither the order of lines nor the time a log
collector (journald) stamps on each says which request was which.
"""

import atexit
import json
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request

from api.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Commands whose requests are anonymous; a batch holding one is anonymous as a whole.
ANONYMOUS_COMMANDS = frozenset({"ballot.cast"})
# The public receipt check (`/api/v1/ballots/{id}`): the id names one ballot; the voters'
# pages (`/ballot`, `/verify`, a receipt's QR code `/receipts/{id}/qr.svg`) and the ballot
# definition a ballot page fetches just before casting, which would time the vote.
ANONYMOUS_BLUEPRINTS = frozenset({"ballots", "pages", "meetings"})
MINUTE = "%Y-%m-%dT%H:%MZ"

access_log = logging.getLogger("appraisal.http.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a record's `fields` extra becomes top-level members."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, UTC)
        entry = {
            "ts": getattr(record, "minute", created.strftime(MINUTE))
            if getattr(record, "anonymous", False)
            else created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestIdFilter(logging.Filter):
    """Stamp every record logged while serving a request with that request's id, or,
    serving an anonymous one, mark it to be written with a coarse time and no id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "anonymous", False) or not has_request_context():
            return True  # a held line is released while serving another request
        if g.get("anonymous"):
            record.anonymous = True
        elif "request_id" in g:
            record.request_id = g.request_id
        return True


class HeldLines:
    """Anonymous requests' log lines, held until their minute is over and then logged
    together in random order."""

    def __init__(self) -> None:
        self._minute: str | None = None
        self._held: list[dict[str, object]] = []
        self._lock = threading.Lock()

    def hold(self, fields: dict[str, object], now: float) -> None:
        self.release(now)
        with self._lock:
            self._minute = _minute(now)
            self._held.append(fields)

    def release(self, now: float | None = None) -> None:
        """Log what is held if its minute is over (or, with no `now`, at once)."""
        with self._lock:
            if not self._held or (now is not None and _minute(now) == self._minute):
                return
            lines, minute = self._held, self._minute
            self._held, self._minute = [], None
        random.SystemRandom().shuffle(lines)
        for fields in lines:
            access_log.info(
                "request", extra={"fields": fields, "anonymous": True, "minute": minute}
            )


def mark_anonymous(command_types: Iterable[object]) -> None:
    """Log this request as an anonymous one if it carries a command in ANONYMOUS_COMMANDS
    (read before the body is checked: a `type` may be any JSON value)."""
    if any(isinstance(kind, str) and kind in ANONYMOUS_COMMANDS for kind in command_types):
        g.anonymous = True


def _minute(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime(MINUTE)


class JsonHandler(logging.StreamHandler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())


def configure_logging(level: str) -> None:
    """Attach the JSON handler to the `appraisal` loggers once per process."""
    logger = logging.getLogger("appraisal")
    logger.setLevel(level)
    if not any(isinstance(handler, JsonHandler) for handler in logger.handlers):
        logger.addHandler(JsonHandler())


def install(app: Flask, metrics: Metrics, held: HeldLines) -> None:
    """Hook request ids, the access line and metrics around every request of `app`;
    anonymous requests' lines go to `held` (released at the latest at process exit)."""
    atexit.register(held.release)

    @app.before_request
    def start() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()
        if request.blueprint in ANONYMOUS_BLUEPRINTS:
            g.anonymous = True

    @app.after_request
    def finish(response: Response) -> Response:
        if "request_id" not in g:  # failed before `start` ran
            g.request_id = uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = g.request_id
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.url_rule.rule if request.url_rule else "<unmatched>"
        method = request.method if request.method in KNOWN_METHODS else "OTHER"
        metrics.observe_request(endpoint, method, response.status_code, seconds)
        fields: dict[str, object] = {
            "method": request.method,
            "path": endpoint if g.get("anonymous") else request.path,
            "status": response.status_code,
        }
        for name in ("problem_code", "command_type", "command_outcome"):
            if name in g:
                fields[name] = g.get(name)
        if g.get("anonymous"):
            held.hold(fields, time.time())
        else:
            held.release(time.time())
            access_log.info(
                "request", extra={"fields": {**fields, "duration_ms": round(seconds * 1000, 3)}}
            )
        return response
