"""Actors and their keys, for those who administer or oversee the registry."""

from typing import Any
from uuid import UUID

from flask.views import MethodView

from api.auth import require_roles
from api.parsing import Blueprint
from api.runtime import current_system
from api.schemas import ActorSchema, ActorsPageSchema, ActorsQuerySchema
from domain.errors import NotFound
from domain.registry import REGISTRY_TOPIC_PREFIX, Actor
from service.application import AppraisalApplication

READERS = ("admin", "auditor", "inspector")
REGISTERED_TOPIC = f"{REGISTRY_TOPIC_PREFIX}Registered"

blp = Blueprint(
    "actors",
    __name__,
    url_prefix="/api/v1/actors",
    description="The key registry as it stands now (roles admin, auditor, inspector).",
)


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


def _load(app: AppraisalApplication, actor_id: UUID) -> Actor:
    actor = app.find(actor_id)
    if not isinstance(actor, Actor):
        raise NotFound(f"no actor {actor_id}")
    return actor


@blp.route("")
class Actors(MethodView):
    @require_roles(blp, *READERS)
    @blp.arguments(ActorsQuerySchema, location="query")
    @blp.response(200, ActorsPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Actors in registration order, a page at a time.

        Scans the registrations in the event log; a read model will replace this.
        """
        app = current_system().app
        limit = query["limit"]
        notifications = app.recorder.select_notifications(
            query.get("after"), limit, topics=[REGISTERED_TOPIC], inclusive_of_start=False
        )
        actors = [_actor_json(_load(app, UUID(str(n.originator_id)))) for n in notifications]
        following = notifications[-1].id if len(notifications) == limit else None
        return {"actors": actors, "next": following}


@blp.route("/<uuid:actor_id>")
class ActorById(MethodView):
    @require_roles(blp, *READERS)
    @blp.response(200, ActorSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, actor_id: UUID) -> dict[str, Any]:
        """One actor: name, roles, keys (revoked ones flagged)."""
        return _actor_json(_load(current_system().app, actor_id))
