"""The voters' pages, served by the app itself (static HTML and JS in api/static/pages,
no build step, nothing from outside the deployment), and the receipt's QR code.

The pages are plain files: everything they know comes from the public API and, for
the ballot page, from the URL fragment, which a browser never sends to a server.
"""

import io
from typing import Any
from uuid import UUID

import segno
from flask import Blueprint, Response, current_app, request
from marshmallow import Schema, ValidationError

from api.reads import ReadQuerySchema, read_options
from api.runtime import current_read
from domain.errors import MalformedCommand
from projections import queries

pages = Blueprint("pages", __name__)


def _page(name: str) -> Response:
    response = current_app.send_static_file(f"pages/{name}")
    # The ballot page holds a private key: no caching, no framing, nothing from elsewhere.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' blob: data:; frame-ancestors 'none'"
    )
    return response


@pages.get("/ballot")
def ballot() -> Response:
    return _page("ballot.html")


@pages.get("/verify")
def verify() -> Response:
    return _page("verify.html")


@pages.get("/receipts/<uuid:ballot_id>/qr.svg")
def receipt_qr(ballot_id: UUID) -> Response:
    """A QR code of the receipt check's address for this ballot: its id, ledger index and
    leaf hash, the public facts a receipt check starts from."""
    options = read_options(_query(ReadQuerySchema()))
    found = queries.ballot_by_receipt(current_read(), str(ballot_id), roles=frozenset(), **options)
    leaf = found["leaf_hash"].replace("+", "-").replace("/", "_").rstrip("=")
    url = f"{request.host_url}verify#b={found['ballot_id']}&i={found['ledger_index']}&h={leaf}"
    svg = io.BytesIO()
    segno.make_qr(url, error="m").save(svg, kind="svg", scale=4, title="回执")
    return Response(svg.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


def _query(schema: Schema) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(request.args)
    except ValidationError as exc:
        raise MalformedCommand(f"bad query string: {exc.messages}") from None
    return loaded
