"""Request bodies: `application/json` only, bounded in size, parsed under the wire limits.

The size bound is Flask's MAX_CONTENT_LENGTH (413 before parsing); everything else a
body may hold — duplicate keys, depth, numbers, characters, lengths — is the wire's
(`domain.wire`), checked here before any schema or handler sees the body.
"""

from typing import Any

import flask
import flask_smorest
from marshmallow import Schema
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import UnsupportedMediaType

from domain import wire

JSON = "application/json"


class JSONBodyParser(FlaskParser):
    def load_json(self, req: flask.Request, schema: Schema) -> Any:
        if req.mimetype != JSON:
            raise UnsupportedMediaType(f"send the body as {JSON}")
        return wire.loads(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JSONBodyParser()
