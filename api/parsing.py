"""Request bodies: `application/json` only, strictly parsed, bounded in size and depth.

The size bound is Flask's MAX_CONTENT_LENGTH (413 before parsing); the depth bound
keeps recursive checks further down (canonical JSON, wire checks) far from
Python's recursion limit.
"""

import json
from typing import Any

import flask
import flask_smorest
from marshmallow import Schema
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import UnsupportedMediaType

from api.errors import InvalidJSON

JSON = "application/json"
MAX_DEPTH = 64


def _too_deep(document: Any, limit: int) -> bool:
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONBodyParser(FlaskParser):
    def load_json(self, req: flask.Request, schema: Schema) -> Any:
        if req.mimetype != JSON:
            raise UnsupportedMediaType(f"send the body as {JSON}")
        try:
            document = json.loads(req.get_data(cache=True))
        except (ValueError, RecursionError) as exc:
            raise InvalidJSON(f"the body is not valid JSON: {exc}") from None
        if _too_deep(document, MAX_DEPTH):
            raise InvalidJSON(f"the body is nested deeper than {MAX_DEPTH} levels")
        return document


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JSONBodyParser()
