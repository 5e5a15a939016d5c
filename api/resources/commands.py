"""POST /api/v1/commands: every write, as a signed envelope (DESIGN §3)."""

from typing import Any

from flask import g
from flask.views import MethodView

from api import observability
from api.parsing import Blueprint
from api.runtime import current_runtime
from api.schemas import AcceptedSchema, EnvelopeSchema
from domain.errors import DomainError

blp = Blueprint(
    "commands",
    __name__,
    url_prefix="/api/v1",
    description="Signed commands: every write is an Ed25519-signed envelope.",
)


def _type_label(envelope: dict[str, Any], known: dict[str, Any]) -> str:
    """The command type as a metrics label; client-chosen strings never become labels."""
    command_type = envelope["command"].get("type")
    return command_type if isinstance(command_type, str) and command_type in known else "unknown"


@blp.route("/commands")
class Commands(MethodView):
    @blp.arguments(
        EnvelopeSchema,
        description="Signing input: `appraisal-command/v1\\n` + RFC 8785 JSON of `command`.",
    )
    @blp.response(201, AcceptedSchema, description="Accepted; its events are in the ledger")
    @blp.alt_response(
        200,
        schema=AcceptedSchema,
        success=True,
        description="A replay of an accepted command id: the original result",
    )
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT")
    @blp.alt_response(413, response="REQUEST_ENTITY_TOO_LARGE")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def post(self, envelope: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """Submit a signed command.

        Nothing is written unless every check passes. The same command id with the
        same envelope returns the original result (200); with another envelope, 409.
        """
        runtime = current_runtime()
        system = runtime.system
        g.command_type = _type_label(envelope, system.bus.specs)
        observability.mark_anonymous([g.command_type])
        try:
            accepted = system.bus.handle(envelope)
        except DomainError as exc:
            _record(exc.code)
            raise
        except Exception:
            _record("error")
            raise
        _record("replayed" if accepted.replayed else "accepted")
        return accepted.to_json(), 200 if accepted.replayed else 201


def _record(outcome: str) -> None:
    g.command_outcome = outcome
    current_runtime().metrics.count_command(g.command_type, outcome)
