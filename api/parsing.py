"""Request bodies: `application/json` only, bounded in size, parsed under the wire limits.

The size bound is Flask's MAX_CONTENT_LENGTH (413 before parsing); everything else a
body may hold — duplicate keys, depth, numbers, characters, lengths — is the wire's
(`domain.wire`), checked here before any schema or handler sees the body.
"""

import re
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

    def _store_endpoint_docs(
        self, endpoint: str, obj: Any, parameters: Any, tags: Any, **options: Any
    ) -> None:
        """Give every operation a stable snake_case `operationId` (method + view name).

        Generated clients name their functions after it; an explicit
        `@blp.doc(operationId=...)` wins.
        """
        super()._store_endpoint_docs(endpoint, obj, parameters, tags, **options)
        for method, doc in self._docs[endpoint].items():
            if method != "parameters":
                manual = doc.setdefault("manual_doc", {})
                manual.setdefault("operationId", f"{method}_{snake_case(endpoint)}")


def snake_case(name: str) -> str:
    """`ActorById` → `actor_by_id` (view class names are CamelCase)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
