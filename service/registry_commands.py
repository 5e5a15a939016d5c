"""Handlers for the key registry's commands (actor.*)."""

from uuid import UUID

from domain import fields
from domain.errors import Conflict, NotFound, WrongRole
from domain.keys import decode_public_key, key_id
from domain.registry import Actor, KeyBinding, key_binding_id, parse_roles
from domain.roles import for_anyone
from service.commands import CommandSpec, Context, Outcome


def _new_binding(ctx: Context, public_key: str, actor_id: UUID) -> tuple[str, KeyBinding]:
    kid = key_id(decode_public_key(public_key))
    if ctx.find(key_binding_id(kid)) is not None:
        raise Conflict(f"key {kid} is already registered")
    return kid, KeyBinding(
        id=key_binding_id(kid), key_id=kid, holder="actor", holder_id=str(actor_id)
    )


def _actor(ctx: Context, actor_id: UUID) -> Actor:
    actor = ctx.find(actor_id)
    if not isinstance(actor, Actor):
        raise NotFound(f"no actor {actor_id}")
    return actor


def _self_or_admin(ctx: Context, actor: Actor) -> None:
    own = ctx.signer.holder_id == str(actor.id)
    if not own and not for_anyone(ctx.signer.roles, ctx.envelope.command_type):
        raise WrongRole("only an admin or the actor itself may change its keys")


def register(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"actor_id", "name", "roles", "public_key"})
    actor_id = fields.uuid_field(c, "actor_id")
    if ctx.find(actor_id) is not None:
        raise Conflict(f"actor {actor_id} already exists")
    kid, binding = _new_binding(ctx, c["public_key"], actor_id)
    actor = Actor(
        id=actor_id,
        name=fields.text(c, "name"),
        roles=parse_roles(c["roles"]),
        public_key=c["public_key"],
        key_id=kid,
        envelope=ctx.recorded_envelope,
    )
    return Outcome([actor, binding])


def add_key(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"actor_id", "public_key"})
    actor = _actor(ctx, fields.uuid_field(c, "actor_id"))
    kid, binding = _new_binding(ctx, c["public_key"], actor.id)
    actor.add_key(c["public_key"], kid, ctx.recorded_envelope)
    return Outcome([actor, binding])


def rotate_key(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"actor_id", "public_key", "old_key_id"})
    actor = _actor(ctx, fields.uuid_field(c, "actor_id"))
    _self_or_admin(ctx, actor)
    old = fields.text(c, "old_key_id")
    actor.active_key(old)
    kid, binding = _new_binding(ctx, c["public_key"], actor.id)
    actor.add_key(c["public_key"], kid, ctx.recorded_envelope)
    actor.revoke_key(old, ctx.recorded_envelope)
    return Outcome([actor, binding])


def revoke_key(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"actor_id", "key_id"})
    actor = _actor(ctx, fields.uuid_field(c, "actor_id"))
    _self_or_admin(ctx, actor)
    kid = fields.text(c, "key_id")
    actor.revoke_key(kid, ctx.recorded_envelope)
    return Outcome([actor])


def grant_roles(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"actor_id", "roles"})
    actor = _actor(ctx, fields.uuid_field(c, "actor_id"))
    actor.grant_roles(parse_roles(c["roles"]), ctx.recorded_envelope)
    return Outcome([actor])


def revoke_roles(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"actor_id", "roles"})
    actor = _actor(ctx, fields.uuid_field(c, "actor_id"))
    actor.revoke_roles(parse_roles(c["roles"]), ctx.recorded_envelope)
    return Outcome([actor])


SPECS = {
    "actor.register": CommandSpec(register),
    "actor.add_key": CommandSpec(add_key),
    "actor.rotate_key": CommandSpec(rotate_key),
    "actor.revoke_key": CommandSpec(revoke_key),
    "actor.grant_roles": CommandSpec(grant_roles),
    "actor.revoke_roles": CommandSpec(revoke_roles),
}
