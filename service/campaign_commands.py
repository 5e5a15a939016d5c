"""Handlers for campaign set-up, debriefing reports and assessments."""

from uuid import UUID

from domain import fields
from domain.campaign import (
    Campaign,
    parse_amendment,
    parse_committee,
    parse_details,
    parse_roster,
    parse_rules_document,
    parse_work_groups,
)
from domain.errors import Conflict, MalformedCommand, NotFound
from domain.registry import Actor
from domain.report import Report, check_report, parse_parts, report_id
from domain.roles import COMMITTEE
from service.commands import CommandSpec, Context, Outcome


def load_campaign(ctx: Context, campaign_id: UUID | None = None) -> Campaign:
    campaign_id = campaign_id or fields.uuid_field(ctx.command, "campaign_id")
    campaign = ctx.find(campaign_id)
    if not isinstance(campaign, Campaign):
        raise NotFound(f"no campaign {campaign_id}")
    return campaign


def own_appraisee(ctx: Context, campaign: Campaign, appraisee_id: str) -> None:
    """Cadres act only for themselves: the appraisee must be linked to the signer."""
    campaign.appraisee(appraisee_id)
    action = f"sign {ctx.envelope.command_type}"
    campaign.require_own_appraisee(ctx.signer.holder_id, appraisee_id, action)


def create(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "title", "year", "rules"}, {"jurisdiction", "period"})
    campaign_id = fields.uuid_field(c, "campaign_id")
    if ctx.find(campaign_id) is not None:
        raise Conflict(f"campaign {campaign_id} already exists")
    campaign = Campaign(
        id=campaign_id,
        title=fields.text(c, "title"),
        year=fields.integer(c, "year", low=2000, high=2100),
        rules=parse_rules_document(c),
        details=parse_details(c),
        organizer_id=ctx.signer.holder_id,
        envelope=ctx.recorded_envelope,
    )
    return Outcome([campaign])


def amend(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id"}, {"title", "rules", "jurisdiction", "period"})
    campaign = load_campaign(ctx)
    changes = parse_amendment(c)
    if not changes:
        raise MalformedCommand("campaign.amend needs at least one change")
    campaign.amend(changes, ctx.recorded_envelope)
    return Outcome([campaign])


def add_appraisees(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "appraisees"})
    campaign = load_campaign(ctx)
    appraisees = parse_roster(c)
    if not appraisees:
        raise MalformedCommand("appraisees must not be empty")
    campaign.add_appraisees(appraisees, ctx.recorded_envelope)
    return Outcome([campaign])


def set_work_groups(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "leading_group", "work_groups"})
    campaign = load_campaign(ctx)
    work_groups = parse_work_groups(c)
    campaign.set_work_groups(work_groups, ctx.recorded_envelope)
    return Outcome([campaign])


def name_committee(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "actor_ids"})
    campaign = load_campaign(ctx)
    campaign.name_committee(ctx.signer.holder_id, committee_ids(ctx), ctx.recorded_envelope)
    return Outcome([campaign])


def countersign_committee(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "actor_ids"})
    campaign = load_campaign(ctx)
    campaign.countersign_committee(ctx.signer.holder_id, committee_ids(ctx), ctx.recorded_envelope)
    return Outcome([campaign])


def committee_ids(ctx: Context) -> list[str]:
    """The command's `actor_ids`: registered actors holding the committee role."""
    ids = parse_committee(ctx.command)
    actors = ctx.load_many(UUID(a) for a in ids)
    for actor_id in ids:
        actor = actors.get(UUID(actor_id))
        if not isinstance(actor, Actor) or COMMITTEE not in actor.roles:
            raise NotFound(f"actor {actor_id} is no registered committee member")
    return ids


def publish(ctx: Context) -> Outcome:
    fields.only(ctx.command, {"campaign_id"})
    campaign = load_campaign(ctx)
    campaign.publish(ctx.recorded_envelope)
    return Outcome([campaign])


def record_assessment(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "appraisee_id", "assessment", "value"})
    campaign = load_campaign(ctx)
    campaign.record_assessment(
        fields.text(c, "appraisee_id"),
        fields.text(c, "assessment"),
        fields.text(c, "value"),
        ctx.recorded_envelope,
    )
    return Outcome([campaign])


def submit_report(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "appraisee_id", "parts"})
    campaign = load_campaign(ctx)
    appraisee_id = fields.text(c, "appraisee_id")
    own_appraisee(ctx, campaign, appraisee_id)
    if campaign.status == "draft":
        raise Conflict("reports are submitted after the campaign is published")
    parts = parse_parts(c)
    check_report(campaign.rules, campaign.appraisee(appraisee_id)["category"], parts)
    rid = report_id(str(campaign.id), appraisee_id)
    report = ctx.find(rid)
    if report is None:
        report = Report(
            id=rid,
            campaign_id=str(campaign.id),
            appraisee_id=appraisee_id,
            parts=parts,
            envelope=ctx.recorded_envelope,
        )
    else:
        report.resubmit(parts, ctx.recorded_envelope)
    return Outcome([report])


def review_report(ctx: Context, accepted: bool) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "appraisee_id"}, {"comments"})
    campaign = load_campaign(ctx)
    appraisee_id = fields.text(c, "appraisee_id")
    campaign.appraisee(appraisee_id)
    report = ctx.find(report_id(str(campaign.id), appraisee_id))
    if not isinstance(report, Report):
        raise NotFound(f"no report from appraisee {appraisee_id}")
    comments = fields.free_text(c, "comments") if "comments" in c else ""
    report.review(accepted, comments, ctx.recorded_envelope)
    return Outcome([report])


SPECS = {
    "campaign.create": CommandSpec(create),
    "campaign.amend": CommandSpec(amend),
    "campaign.add_appraisees": CommandSpec(add_appraisees),
    "campaign.set_work_groups": CommandSpec(set_work_groups),
    "campaign.publish": CommandSpec(publish),
    "campaign.name_committee": CommandSpec(name_committee),
    "campaign.countersign_committee": CommandSpec(countersign_committee),
    "assessment.record": CommandSpec(record_assessment),
    "report.submit": CommandSpec(submit_report),
    "report.accept": CommandSpec(lambda ctx: review_report(ctx, True)),
    "report.return": CommandSpec(lambda ctx: review_report(ctx, False)),
}
