"""Ledger reads (DESIGN §6): anyone can check a receipt without logging in.

Public: signed checkpoints, inclusion and consistency proofs, leaf hashes. The
entries themselves (stored states: named scores, who lodged what) are for the
auditor and inspector roles only (`READERS["ledger_entries"]`).
"""

import base64
from typing import Any

from flask import Response
from flask.views import MethodView

from api.auth import require_roles
from api.parsing import Blueprint
from api.read_schemas import CheckpointsPageSchema
from api.reads import WindowSchema
from api.runtime import current_read, current_system
from api.schemas import (
    ConsistencyProofSchema,
    ConsistencyQuerySchema,
    EntriesPageSchema,
    EntriesQuerySchema,
    InclusionProofSchema,
    InclusionQuerySchema,
    LeavesPageSchema,
)
from domain.roles import READERS
from projections import queries

blp = Blueprint(
    "ledger",
    __name__,
    url_prefix="/api/v1/ledger",
    description="Signed checkpoints, RFC 9162 proofs and the leaves they cover.",
)

TEXT = {"type": "string"}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@blp.route("/checkpoint")
class LatestCheckpoint(MethodView):
    @blp.response(
        200,
        TEXT,
        content_type="text/plain",
        description="The latest C2SP checkpoint, signed by the log key and cosigned by witnesses",
    )
    def get(self) -> Response:
        """The latest signed checkpoint (one is signed now if there is none yet), with every
        witness cosignature obtained for it."""
        ledger = current_system().ledger
        stored = ledger.recorder.latest_checkpoint() or ledger.checkpoint_now()
        note = ledger.cosigned_note(stored)
        return Response(note, mimetype="text/plain", headers={"Cache-Control": "no-cache"})


@blp.route("/checkpoints")
class Checkpoints(MethodView):
    @blp.arguments(WindowSchema, location="query")
    @blp.response(200, CheckpointsPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Every signed checkpoint, newest first, with its tree size and root.

        The ledger's own table, not a projection: always current.
        """
        return queries.checkpoints(current_read(), **query)


@blp.route("/proofs/inclusion")
class InclusionProof(MethodView):
    @blp.arguments(InclusionQuerySchema, location="query")
    @blp.response(200, InclusionProofSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Proof that leaf `index` is in the tree of `tree_size` leaves (RFC 9162 §2.1.3)."""
        ledger = current_system().ledger
        index, size = query["index"], query["tree_size"]
        proof = ledger.inclusion_proof(index, size)
        return {
            "index": index,
            "tree_size": size,
            "leaf_hash": _b64(ledger.leaf_hash(index)),
            "proof": [_b64(node) for node in proof],
        }


@blp.route("/proofs/consistency")
class ConsistencyProof(MethodView):
    @blp.arguments(ConsistencyQuerySchema, location="query")
    @blp.response(200, ConsistencyProofSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Proof that the tree of `to` leaves extends the tree of `from` (RFC 9162 §2.1.4)."""
        ledger = current_system().ledger
        old, new = query["from_"], query["to"]
        proof = ledger.consistency_proof(old, new)
        return {"from_": old, "to": new, "proof": [_b64(node) for node in proof]}


def _page(key: str, rows: list[dict[str, Any]], start: int, limit: int) -> dict[str, Any]:
    following = start + limit
    size = current_system().ledger.size()
    return {key: rows, "next": following if following < size else None}


@blp.route("/leaves")
class Leaves(MethodView):
    @blp.arguments(EntriesQuerySchema, location="query")
    @blp.response(200, LeavesPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Index and leaf hash of `limit` leaves from `start`, and the next page's start:
        enough to check proofs and compare with a receipt, nothing of the states."""
        start, limit = query["start"], query["limit"]
        return _page("leaves", current_system().ledger.leaves(start, limit), start, limit)


@blp.route("/entries")
class Entries(MethodView):
    @require_roles(blp, *READERS["ledger_entries"])
    @blp.arguments(EntriesQuerySchema, location="query")
    @blp.response(200, EntriesPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The leaf inputs' fields of `limit` leaves from `start`, and the next page's start.

        States carry named scores and personnel data: auditors and inspectors only."""
        start, limit = query["start"], query["limit"]
        return _page("entries", current_system().ledger.entries(start, limit), start, limit)
