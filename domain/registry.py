"""The key registry: actors, their roles and their keys, as event-sourced aggregates.

Its root of trust is the admin key given to `appraisal init`. A revoked key's
past signatures stay valid; from its revocation on, new ones are refused.
`RegistryView` answers "may key K sign command type T" for any prefix of the
ledger by replaying registry events in ledger order, which is how an auditor
checks every envelope without trusting the server.
"""

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.aggregate import EventSourced
from domain.errors import Conflict, MalformedCommand, RevokedKey, UnknownKey, WrongRole
from domain.keys import decode_public_key
from domain.roles import ADMIN, ROLES

NAMESPACE = UUID("3d1c7f4e-5f0a-4c55-9a1e-7b8c2d6e9f10")
ADMIN_ACTOR_ID = uuid.uuid5(NAMESPACE, "actor:admin")
IDS_CACHED = 65536


@lru_cache(maxsize=IDS_CACHED)
def key_binding_id(key_id: str) -> UUID:
    """Deterministic id of the aggregate that binds a key to its holder (kept: every
    command a key signs looks it up, and SHA-1 plus a UUID cost microseconds)."""
    return uuid.uuid5(NAMESPACE, f"key:{key_id}")


def parse_roles(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
        raise MalformedCommand("roles must be a non-empty list of strings", field="roles")
    unknown = sorted(set(value) - ROLES)
    if unknown:
        raise MalformedCommand(f"unknown roles: {', '.join(unknown)}", field="roles")
    return sorted(set(value))


@dataclass
class KeyRecord:
    public_key: str
    revoked: bool = False


class Actor(EventSourced):
    """A person or system that signs commands with one or more keys."""

    @event("Registered")
    def __init__(
        self,
        id: UUID,
        name: str,
        roles: list[str],
        public_key: str,
        key_id: str,
        envelope: dict[str, Any] | None,
    ) -> None:
        self.name = name
        self.roles = list(roles)
        self.keys: dict[str, KeyRecord] = {key_id: KeyRecord(public_key)}

    def active_key(self, key_id: str) -> KeyRecord:
        record = self.keys.get(key_id)
        if record is None:
            raise UnknownKey(f"key {key_id} does not belong to actor {self.id}")
        if record.revoked:
            raise RevokedKey(f"key {key_id} was revoked")
        return record

    def verified_key(self, key_id: str, verify: Callable[[bytes], None]) -> KeyRecord:
        """The actor's active key `key_id`, once `verify` (given the raw public key) has
        accepted the signature made with it. The signature is checked first, so whoever
        lacks the private key learns nothing of the key but that the signature is bad."""
        record = self.keys.get(key_id)
        if record is None:
            raise UnknownKey(f"key {key_id} does not belong to actor {self.id}")
        verify(decode_public_key(record.public_key))
        return self.active_key(key_id)

    def add_key(self, public_key: str, key_id: str, envelope: dict[str, Any]) -> None:
        if key_id in self.keys:
            raise Conflict(f"key {key_id} is already registered to this actor")
        self._add_key(public_key, key_id, envelope)

    @event("KeyAdded")
    def _add_key(self, public_key: str, key_id: str, envelope: dict[str, Any]) -> None:
        self.keys[key_id] = KeyRecord(public_key)

    def revoke_key(self, key_id: str, envelope: dict[str, Any]) -> None:
        self.active_key(key_id)
        if sum(not k.revoked for k in self.keys.values()) == 1 and ADMIN in self.roles:
            raise Conflict("an admin must keep at least one active key: rotate instead")
        self._revoke_key(key_id, envelope)

    @event("KeyRevoked")
    def _revoke_key(self, key_id: str, envelope: dict[str, Any]) -> None:
        self.keys[key_id].revoked = True

    def grant_roles(self, roles: list[str], envelope: dict[str, Any]) -> None:
        self._set_roles(sorted(set(self.roles) | set(roles)), envelope)

    def revoke_roles(self, roles: list[str], envelope: dict[str, Any]) -> None:
        self._set_roles(sorted(set(self.roles) - set(roles)), envelope)

    @event("RolesChanged")
    def _set_roles(self, roles: list[str], envelope: dict[str, Any]) -> None:
        self.roles = list(roles)


class KeyBinding(EventSourced):
    """Makes a key belong to exactly one holder: its id is derived from the key id,
    so a second registration of the same key collides in the store."""

    @event("Bound")
    def __init__(self, id: UUID, key_id: str, holder: str, holder_id: str) -> None:
        self.key_id = key_id
        self.holder = holder
        self.holder_id = holder_id


@dataclass
class _ActorState:
    roles: set[str]
    keys: dict[str, bool] = field(default_factory=dict)  # key id -> revoked


class RegistryView:
    """Registry state replayed from events in ledger order (no aggregates needed)."""

    def __init__(self) -> None:
        self._actors: dict[str, _ActorState] = {}
        self._key_owner: dict[str, str] = {}

    def apply(self, topic: str, originator_id: str, state: Mapping[str, Any]) -> None:
        kind = topic.rsplit(".", 1)[-1]
        if kind == "Registered":
            self._actors[originator_id] = _ActorState(roles=set(state["roles"]))
            self._bind(originator_id, state["key_id"])
        elif kind == "KeyAdded":
            self._bind(originator_id, state["key_id"])
        elif kind == "KeyRevoked":
            self._actors[originator_id].keys[state["key_id"]] = True
        elif kind == "RolesChanged":
            self._actors[originator_id].roles = set(state["roles"])

    def _bind(self, actor_id: str, key_id: str) -> None:
        self._actors[actor_id].keys[key_id] = False
        self._key_owner[key_id] = actor_id

    def roles_of_key(self, key_id: str) -> set[str]:
        actor_id = self._key_owner.get(key_id)
        if actor_id is None:
            raise UnknownKey(f"unknown key {key_id}")
        actor = self._actors[actor_id]
        if actor.keys[key_id]:
            raise RevokedKey(f"key {key_id} was revoked")
        return set(actor.roles)

    def actor_of_key(self, key_id: str) -> str | None:
        return self._key_owner.get(key_id)


REGISTRY_TOPIC_PREFIX = f"{__name__}:Actor."


def authorize(roles: Iterable[str], allowed: Iterable[str], command_type: str) -> None:
    """Refuse unless the signer holds one of the roles the command type allows."""
    if not set(roles) & set(allowed):
        raise WrongRole(
            f"{command_type} needs one of the roles {', '.join(sorted(allowed))}",
            command_type=command_type,
        )
