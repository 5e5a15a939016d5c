"""Actors and their keys, for those who administer or oversee the registry.

The list is the actors view (paged like every list, read-your-writes with
`min_position`); one actor is read from the registry itself, always current,
with the aggregate's version.
"""

from typing import Any
from uuid import UUID

from flask.views import MethodView
from marshmallow import fields, validate

from api.auth import require_roles
from api.parsing import Blueprint
from api.read_schemas import ActorsPageSchema
from api.reads import PageQuerySchema, read, read_options
from api.runtime import current_read, current_system
from api.schemas import ActorSchema
from domain.errors import NotFound
from domain.registry import Actor
from domain.roles import READERS, ROLES
from projections import queries

blp = Blueprint(
    "actors",
    __name__,
    url_prefix="/api/v1/actors",
    description="The key registry (roles admin, auditor, inspector).",
)


class ActorsQuerySchema(PageQuerySchema):
    role = fields.String(validate=validate.OneOf(sorted(ROLES)))


def _actor_json(actor: Actor) -> dict[str, Any]:
    return {
        "actor_id": str(actor.id),
        "name": actor.name,
        "roles": sorted(actor.roles),
        "keys": [
            {"key_id": key_id, "public_key": record.public_key, "revoked": record.revoked}
            for key_id, record in actor.keys.items()
        ],
        "version": actor.version,
    }


@blp.route("")
class Actors(MethodView):
    @read(blp, ActorsPageSchema, roles=READERS["actors"], query=ActorsQuerySchema, by_id=False)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Actors in registration order, with their keys (revoked ones flagged)."""
        return queries.actors(current_read(), **read_options(query))


@blp.route("/<uuid:actor_id>")
class ActorById(MethodView):
    @require_roles(blp, *READERS["actors"])
    @blp.response(200, ActorSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, actor_id: UUID) -> dict[str, Any]:
        """One actor: name, roles, keys (revoked ones flagged)."""
        actor = current_system().app.find(actor_id)
        if not isinstance(actor, Actor):
            raise NotFound(f"no actor {actor_id}")
        return _actor_json(actor)
