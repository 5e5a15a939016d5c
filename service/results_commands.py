"""Handlers for results: propose (computed by the server), approve (k-of-n, bound to
the proposal hash), publish, disputes, finalisation, the cadre's acknowledgement and
the interviews (约谈) the results entail."""

from domain import fields
from domain.balloting import CastBallot
from domain.campaign import FINALIZED, compact_results, publication_window_end
from domain.derivation import derive
from domain.errors import MalformedCommand, NotFound
from domain.history import GradeHistory, history_id
from domain.rectification import reported_on
from domain.roles import for_anyone
from service.campaign_commands import load_campaign, own_appraisee
from service.commands import CommandSpec, Context, Outcome
from service.derivation_inputs import load_inputs

ADJUSTMENT_REASON_LENGTH = 2000  # the written reason for a committee's adjustment


def propose(ctx: Context) -> Outcome:
    fields.only(ctx.command, {"campaign_id"})
    campaign = load_campaign(ctx)
    campaign.check_can_propose()
    derivation = derive(campaign, load_inputs(ctx.app, campaign))
    results = compact_results(derivation.outcome.result_dicts())
    campaign.propose(derivation.proposal_hash, results, ctx.tree_head(), ctx.recorded_envelope)
    return Outcome([campaign])


def approve(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "proposal_hash", "adjustments"})
    campaign = load_campaign(ctx)
    adjustments = []
    for i, raw in enumerate(fields.items(c, "adjustments")):
        item = fields.obj(raw, f"adjustments[{i}]")
        fields.only(item, {"appraisee_id", "grade", "reason"})
        adjustments.append(
            {
                "appraisee_id": fields.text(item, "appraisee_id"),
                "grade": fields.text(item, "grade"),
                "reason": fields.free_text(item, "reason", max_length=ADJUSTMENT_REASON_LENGTH),
            }
        )
    campaign.approve(
        ctx.signer.holder_id,
        fields.text(c, "proposal_hash"),
        adjustments,
        ctx.witnessed_head(),
        ctx.recorded_envelope,
    )
    return Outcome([campaign])


def publish(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "window_days"})
    campaign = load_campaign(ctx)
    campaign.publish_results(publication_window_end(c), ctx.recorded_envelope)
    return Outcome([campaign])


def lodge_dispute(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "dispute_id", "appraisee_id", "grounds"})
    campaign = load_campaign(ctx)
    appraisee_id = fields.text(c, "appraisee_id")
    if not for_anyone(ctx.signer.roles, "dispute.lodge"):
        own_appraisee(ctx, campaign, appraisee_id)
    dispute_id = str(fields.uuid_field(c, "dispute_id"))
    campaign.lodge_dispute(
        dispute_id,
        appraisee_id,
        fields.free_text(c, "grounds"),
        ctx.signer.holder_id,
        ctx.recorded_envelope,
    )
    return Outcome([campaign])


def resolve_dispute(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "dispute_id", "decision", "reason"}, {"void_ballots"})
    campaign = load_campaign(ctx)
    decision = fields.text(c, "decision")
    if decision not in ("upheld", "dismissed"):
        raise MalformedCommand("decision must be 'upheld' or 'dismissed'", field="decision")
    reason = fields.free_text(c, "reason")
    dispute_id = str(fields.uuid_field(c, "dispute_id"))
    voided = fields.uuid_list(c, "void_ballots") if "void_ballots" in c else []
    ballots = ctx.load_many(voided)
    for ballot_id in voided:
        ballot = ballots.get(ballot_id)
        if not isinstance(ballot, CastBallot) or ballot.campaign_id != str(campaign.id):
            raise NotFound(f"no ballot {ballot_id} in this campaign")
    campaign.resolve_dispute(
        ctx.signer.holder_id,
        dispute_id,
        decision,
        reason,
        {str(v): ballots[v].rated for v in voided},
        ctx.recorded_envelope,
    )
    for ballot_id in voided:
        ballots[ballot_id].void(reason, dispute_id, ctx.recorded_envelope)
    return Outcome([campaign, *ballots.values()])


def finalize(ctx: Context) -> Outcome:
    fields.only(ctx.command, {"campaign_id"})
    campaign = load_campaign(ctx)
    campaign.finalize(ctx.now, ctx.recorded_envelope)
    grades = campaign.final_grades()
    people = {a["appraisee_id"]: a["person_id"] for a in campaign.appraisees.values()}
    histories = ctx.load_many(history_id(p) for p in people.values())
    for appraisee_id, grade in sorted(grades.items()):
        if grade is None:
            continue
        person = people[appraisee_id]
        history = histories.get(history_id(person))
        if history is None:
            history = histories[history_id(person)] = GradeHistory(
                id=history_id(person), person_id=person
            )
        history.record(campaign.year, str(campaign.id), grade)
    assert campaign.status == FINALIZED
    return Outcome([campaign, *histories.values()])


def acknowledge(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "appraisee_id"})
    campaign = load_campaign(ctx)
    appraisee_id = fields.text(c, "appraisee_id")
    own_appraisee(ctx, campaign, appraisee_id)
    campaign.acknowledge(appraisee_id, ctx.recorded_envelope)
    return Outcome([campaign])


def record_interview(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "appraisee_id", "note"})
    campaign = load_campaign(ctx)
    campaign.record_interview(
        fields.text(c, "appraisee_id"),
        reported_on(c),
        fields.free_text(c, "note", max_length=fields.NOTE_LENGTH),
        ctx.recorded_envelope,
    )
    return Outcome([campaign])


SPECS = {
    "results.propose": CommandSpec(propose),
    "results.approve": CommandSpec(approve),
    "results.publish": CommandSpec(publish),
    "results.finalize": CommandSpec(finalize),
    "dispute.lodge": CommandSpec(lodge_dispute),
    "dispute.resolve": CommandSpec(resolve_dispute),
    "feedback.acknowledge": CommandSpec(acknowledge),
    "consequence.interview": CommandSpec(record_interview),
}
