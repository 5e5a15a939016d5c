"""POST /api/v1/commands/batch: many signed envelopes in one request (a teller's stack
of paper ballots), each still individually signed, checked, recorded and proved.

Why a separate endpoint rather than a JSON array on /commands: the answer is not one
command's but one per envelope, in request order, so a refusal of one envelope (a
forged signature, an unissued serial) does not refuse the others. The accepted ones
share one transaction (`CommandBus.handle_batch`).
"""

from typing import Any

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from api import observability
from api.parsing import Blueprint
from api.problems import domain_problem_document
from api.runtime import current_runtime
from api.schemas import AcceptedSchema, BodySchema, EnvelopeSchema, ProblemSchema
from domain.errors import DomainError
from service.commands import Accepted

MAX_ENVELOPES = 500

blp = Blueprint(
    "batch",
    __name__,
    url_prefix="/api/v1",
    description="Signed commands in batches: one answer per envelope.",
)


class BatchRequestSchema(BodySchema):
    envelopes = fields.List(
        fields.Nested(EnvelopeSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_ENVELOPES),
        metadata={"description": f"1 to {MAX_ENVELOPES} signed envelopes, each as for /commands"},
    )


class BatchItemSchema(AcceptedSchema):
    """One envelope's answer: the accepted command's result (its result fields pass
    through, as from /commands), or the refusal's problem."""

    status = fields.String(required=True, validate=validate.OneOf(["accepted", "refused"]))
    command_id = fields.String(metadata={"format": "uuid", "description": "When accepted"})
    type = fields.String(metadata={"description": "When accepted: the command type"})
    position = fields.Integer(metadata={"description": "When accepted: its last ledger index"})
    replayed = fields.Boolean(
        metadata={"description": "When accepted: a command id seen before, with its first result"}
    )
    problem = fields.Nested(
        ProblemSchema, metadata={"description": "When refused: what /commands would have answered"}
    )


class BatchResultSchema(Schema):
    results = fields.List(fields.Nested(BatchItemSchema), required=True)
    position = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "The highest ledger index written; null when nothing was"},
    )


@blp.route("/commands/batch")
class CommandBatch(MethodView):
    @blp.arguments(BatchRequestSchema)
    @blp.response(200, BatchResultSchema, description="One result per envelope, in request order")
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Submit several signed commands; each is judged on its own.

        A refused envelope writes nothing and gets the problem `/commands` would have
        answered; the accepted ones are written in one transaction. An envelope that
        touches a record an earlier one in the batch changed is refused (conflict).
        """
        runtime = current_runtime()
        system = runtime.system
        g.command_type = "batch"
        observability.mark_anonymous(e["command"].get("type") for e in body["envelopes"])
        answers = system.bus.handle_batch(body["envelopes"])
        known = system.bus.specs
        for envelope, answer in zip(body["envelopes"], answers, strict=True):
            command_type = envelope["command"].get("type")
            label = (
                command_type
                if isinstance(command_type, str) and command_type in known
                else "unknown"
            )
            runtime.metrics.count_command(label, _outcome(answer))
        positions = [a.position for a in answers if isinstance(a, Accepted)]
        return {
            "results": [_item(answer) for answer in answers],
            "position": max(positions, default=None),
        }


def _outcome(answer: Accepted | DomainError) -> str:
    if isinstance(answer, DomainError):
        return answer.code
    return "replayed" if answer.replayed else "accepted"


def _item(answer: Accepted | DomainError) -> dict[str, Any]:
    if isinstance(answer, Accepted):
        return {"status": "accepted", **answer.to_json(), "replayed": answer.replayed}
    return {"status": "refused", "problem": domain_problem_document(answer)}
