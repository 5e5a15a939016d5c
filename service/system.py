"""The composition root: builds the application, ledger and command bus from settings."""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from domain.balloting import Meeting
from domain.canonical import b64url_encode
from domain.checkpoint import verifier_key
from domain.errors import Conflict, DomainError, NotFound
from domain.keys import decode_public_key, key_id
from domain.registry import ADMIN_ACTOR_ID, Actor, KeyBinding, key_binding_id
from domain.roles import ADMIN, SIGNERS
from service import (
    balloting_commands,
    campaign_commands,
    rectification_commands,
    registry_commands,
    results_commands,
)
from service.application import AppraisalApplication
from service.commands import CommandBus, CommandSpec
from service.keyfiles import load_or_create, read_private_key
from service.ledger import Ledger
from service.settings import Settings
from service.witnessing import Witnessing


class NotInitialised(DomainError):
    code = "not-initialised"


def command_specs() -> Mapping[str, CommandSpec]:
    """Every command type's handler, with the roles that may sign it from the domain's
    table (a type missing there fails here, at start-up)."""
    handlers = {
        **registry_commands.SPECS,
        **campaign_commands.SPECS,
        **balloting_commands.SPECS,
        **results_commands.SPECS,
        **rectification_commands.SPECS,
    }
    return {kind: replace(spec, roles=SIGNERS[kind]) for kind, spec in handlers.items()}


@dataclass
class System:
    settings: Settings
    app: AppraisalApplication
    ledger: Ledger
    bus: CommandBus
    witnessing: Witnessing | None = None

    @classmethod
    def open(cls, settings: Settings | None = None) -> "System":
        settings = settings or Settings.from_env()
        if not settings.log_key_path.exists():
            raise NotInitialised(
                f"no log key at {settings.log_key_path}: run `appraisal init --admin-key KEY` first"
            )
        app = AppraisalApplication(settings)
        ledger = Ledger(app.ledger, read_private_key(settings.log_key_path), settings.log_origin)
        witnessing = Witnessing.from_settings(ledger, settings)
        witnessed_head = ledger.tree_head if witnessing is None else witnessing.tree_head
        bus = CommandBus(app, command_specs(), ledger.tree_head, witnessed_head=witnessed_head)
        return cls(settings, app, ledger, bus, witnessing)

    def opened_at(self, meeting_id: str) -> str:
        """A meeting's opening as its ballot definition publishes it: the `issued_at` its
        credential ballots sign (`Meeting.check_signed_time`)."""
        meeting = self.app.find(UUID(meeting_id))
        if not isinstance(meeting, Meeting):
            raise NotFound(f"no meeting {meeting_id}")
        return meeting.opened_at

    def close(self) -> None:
        self.app.close()


def initialise(settings: Settings, admin_public_key: str) -> dict[str, Any]:
    """Create the store, the log key and the admin actor (the registry's root of trust).

    Running it again with the same admin key changes nothing; with another key it refuses.
    """
    admin_kid = key_id(decode_public_key(admin_public_key, what="admin key"))
    log_key = load_or_create(settings.log_key_path)
    app = AppraisalApplication(settings)
    try:
        admin = app.find(ADMIN_ACTOR_ID)
        if admin is None:
            app.record(
                Actor(
                    id=ADMIN_ACTOR_ID,
                    name=ADMIN,
                    roles=[ADMIN],
                    public_key=admin_public_key,
                    key_id=admin_kid,
                    envelope=None,
                ),
                KeyBinding(
                    id=key_binding_id(admin_kid),
                    key_id=admin_kid,
                    holder="actor",
                    holder_id=str(ADMIN_ACTOR_ID),
                ),
            )
        elif admin_kid not in admin.keys:
            raise Conflict("the store is already initialised with a different admin key")
        ledger = Ledger(app.ledger, log_key, settings.log_origin)
        ledger.checkpoint_now()
        return {
            "admin_key_id": admin_kid,
            "admin_actor_id": str(ADMIN_ACTOR_ID),
            "log_public_key": b64url_encode(ledger.log_public_key),
            "log_vkey": verifier_key(settings.log_origin, ledger.log_public_key),
            "log_origin": settings.log_origin,
            "store": "postgresql" if settings.is_postgres else "sqlite",
        }
    finally:
        app.close()
