"""Handlers for rectification plans (整改清单) and their follow-up checks (回头看)."""

from uuid import UUID

from domain import fields
from domain.errors import Conflict, MalformedCommand, NotFound
from domain.rectification import RectificationPlan, parse_items, reported_on
from domain.roles import for_anyone
from service.campaign_commands import load_campaign, own_appraisee
from service.commands import CommandSpec, Context, Outcome


def _plan(ctx: Context) -> RectificationPlan:
    plan = ctx.find(fields.uuid_field(ctx.command, "plan_id"))
    if not isinstance(plan, RectificationPlan):
        raise NotFound("no such rectification plan")
    return plan


def create(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"plan_id", "campaign_id", "appraisee_id", "items"})
    campaign = load_campaign(ctx)
    appraisee_id = fields.text(c, "appraisee_id")
    campaign.appraisee(appraisee_id)
    plan_id = fields.uuid_field(c, "plan_id")
    if ctx.find(plan_id) is not None:
        raise Conflict(f"plan {plan_id} already exists")
    items = parse_items(c)
    plan = RectificationPlan(
        id=plan_id,
        campaign_id=str(campaign.id),
        appraisee_id=appraisee_id,
        items=items,
        envelope=ctx.recorded_envelope,
    )
    return Outcome([plan])


def progress(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"plan_id", "item_id", "note", "done"})
    plan = _plan(ctx)
    if not for_anyone(ctx.signer.roles, "rectification.progress"):
        campaign = load_campaign(ctx, UUID(plan.campaign_id))
        own_appraisee(ctx, campaign, plan.appraisee_id)
    if not isinstance(c["done"], bool):
        raise MalformedCommand("done must be true or false", field="done")
    plan.report_progress(
        fields.text(c, "item_id"),
        fields.free_text(c, "note", max_length=fields.NOTE_LENGTH),
        c["done"],
        reported_on(c),
        ctx.recorded_envelope,
    )
    return Outcome([plan])


def check(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"plan_id", "item_id", "passed", "note"})
    plan = _plan(ctx)
    if not isinstance(c["passed"], bool):
        raise MalformedCommand("passed must be true or false", field="passed")
    plan.check(
        fields.text(c, "item_id"),
        c["passed"],
        fields.free_text(c, "note", max_length=fields.NOTE_LENGTH),
        reported_on(c),
        ctx.recorded_envelope,
    )
    return Outcome([plan])


def close(ctx: Context) -> Outcome:
    fields.only(ctx.command, {"plan_id"})
    plan = _plan(ctx)
    plan.close(ctx.recorded_envelope)
    return Outcome([plan])


SPECS = {
    "rectification.create": CommandSpec(create),
    "rectification.progress": CommandSpec(progress),
    "rectification.check": CommandSpec(check),
    "rectification.close": CommandSpec(close),
}
