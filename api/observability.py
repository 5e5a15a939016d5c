"""Request ids, structured JSON logs and request metrics, hooked around every request."""

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request

from api.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

access_log = logging.getLogger("appraisal.http.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a record's `fields` extra becomes top-level members."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
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
    """Stamp every record logged while serving a request with that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        return True


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


def install(app: Flask, metrics: Metrics) -> None:
    @app.before_request
    def start() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        if "request_id" not in g:  # failed before `start` ran
            g.request_id = uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = g.request_id
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.url_rule.rule if request.url_rule else "<unmatched>"
        method = request.method if request.method in KNOWN_METHODS else "OTHER"
        metrics.observe_request(endpoint, method, response.status_code, seconds)
        fields = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 3),
        }
        for name in ("problem_code", "command_type", "command_outcome"):
            if name in g:
                fields[name] = g.get(name)
        access_log.info("request", extra={"fields": fields})
        return response
