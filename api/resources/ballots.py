"""The receipt check: anyone holding a ballot id sees where that ballot sits in the
ledger and whether it counted, without logging in (DESIGN §4).

An anonymous evaluator has no account to log in with, and needs none: the answer
names no one (the schema has no signer), and the ledger index and leaf hash are
what to check an inclusion proof against a signed checkpoint with.
"""

from typing import Any
from uuid import UUID

from flask.views import MethodView

from api.parsing import Blueprint
from api.read_schemas import BallotReceiptSchema
from api.reads import ReadQuerySchema, read, read_options
from api.runtime import current_read
from projections import queries

blp = Blueprint(
    "ballots",
    __name__,
    url_prefix="/api/v1/ballots",
    description="Receipt checks: public, no login, never an identity.",
)


@blp.route("/<uuid:ballot_id>")
class BallotReceipt(MethodView):
    @read(blp, BallotReceiptSchema, roles=None, query=ReadQuerySchema)
    def get(self, query: dict[str, Any], ballot_id: UUID) -> dict[str, Any]:
        """A ballot by the id on its receipt: status, ledger index and leaf hash.

        Verify it with `/api/v1/ledger/proofs/inclusion?index=…&tree_size=…` against
        `/api/v1/ledger/checkpoint`. Pass the receipt's `ledger_index` as
        `min_position` right after casting.
        """
        return queries.ballot_by_receipt(
            current_read(), str(ballot_id), roles=frozenset(), **read_options(query)
        )
