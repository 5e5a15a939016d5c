"""The witness's HTTP interface (C2SP tlog-witness v1): add-checkpoint and its monitor read.

A plain Flask app, apart from the ledger's API: the witness runs at another level of
government, on another machine, with nothing but its key and its state directory.
"""

from flask import Flask, Response, request

from domain.witness import OldSizeMismatch, WitnessRefusal
from service.witness import Witness, origin_hash

MAX_REQUEST_BYTES = 64 * 1024  # 63 proof lines and a checkpoint with many signatures
TEXT = "text/plain; charset=utf-8"
TLOG_SIZE = "text/x.tlog.size"


def create_witness_app(witness: Witness) -> Flask:
    app = Flask("witness")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES

    @app.post("/add-checkpoint")
    def add_checkpoint() -> Response:
        try:
            line = witness.add_checkpoint(request.get_data())
        except OldSizeMismatch as refusal:
            return Response(f"{refusal.size}\n", status=409, content_type=TLOG_SIZE)
        except WitnessRefusal as refusal:
            return Response(f"{refusal.message}\n", status=refusal.status, content_type=TEXT)
        return Response(line, status=200, content_type=TEXT)

    @app.get("/<string:hashed>/checkpoint")
    def latest(hashed: str) -> Response:
        """The checkpoint last cosigned for the log whose origin hashes to `hashed`."""
        for origin in witness.logs:
            held = witness.latest(origin)
            if origin_hash(origin) == hashed and held is not None:
                return Response(held.note, content_type=TEXT)
        return Response("never cosigned a checkpoint of that log\n", 404, content_type=TEXT)

    return app
