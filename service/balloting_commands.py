"""Handlers for balloting: open a meeting's balloting, cast ballots, close it."""

from collections import Counter
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from domain import fields
from domain.balloting import (
    CREDENTIAL,
    NAMED,
    PAPER,
    SPENDERS,
    BallotRight,
    CastBallot,
    Meeting,
    PlannedRight,
    check_handed_out,
    check_makeup,
    parse_attendance,
    parse_rows,
    planned_rights,
    reconcile,
    require_one_vote,
    right_id,
    spent_right_id,
    voided_rights,
)
from domain.ballots import Ballot, check_ballot_shape, validate_ballot
from domain.campaign import Campaign
from domain.duties import TELLER
from domain.errors import (
    Conflict,
    MalformedCommand,
    NotFound,
    RuleViolation,
    WrongRole,
    WrongState,
)
from domain.registry import Actor, KeyBinding, key_binding_id
from domain.rules import check_self_rating, parse_rules
from service.campaign_commands import load_campaign
from service.commands import CommandSpec, Context, Outcome


def open_balloting(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(
        c,
        {"campaign_id", "meeting_id"},
        {"credentials", "evaluators", "paper", "appraisee_ids", "attendance"},
    )
    campaign = load_campaign(ctx)
    meeting_id = str(fields.uuid_field(c, "meeting_id"))
    if ctx.find(UUID(meeting_id)) is not None:
        raise Conflict(f"meeting {meeting_id} already exists")
    campaign.check_can_open_meeting(meeting_id)
    rules = campaign.rules
    appraisee_ids = campaign.meeting_appraisees(c)
    for appraisee_id in appraisee_ids:
        campaign.appraisee(appraisee_id)
    campaign_id = str(campaign.id)
    planned = planned_rights(c)
    for right in planned:
        _require_group(rules, right.group, anonymous=ANONYMOUS[right.kind])
    bound = ctx.load_many(key_binding_id(r.holder) for r in planned if r.kind == CREDENTIAL)
    for right in planned:
        if right.kind == CREDENTIAL and key_binding_id(right.holder) in bound:
            raise Conflict(f"credential key {right.holder} is already in use")
    evaluators = ctx.load_many(UUID(r.holder) for r in planned if r.kind == NAMED)
    for right in planned:
        if right.kind == NAMED and not isinstance(evaluators.get(UUID(right.holder)), Actor):
            raise NotFound(f"evaluator {right.holder} is not a registered actor")
    aggregates: list[Any] = []
    for right in planned:
        aggregates.append(
            BallotRight(
                id=right.id,
                campaign_id=campaign_id,
                meeting_id=meeting_id,
                group=right.group,
                kind=right.kind,
                holder=right.holder,
                public_key=right.public_key,
            )
        )
        if right.kind == CREDENTIAL:
            aggregates.append(
                KeyBinding(
                    id=key_binding_id(right.holder),
                    key_id=right.holder,
                    holder=CREDENTIAL,
                    holder_id=str(right.id),
                )
            )
    rights = [str(r.id) for r in planned]
    issued = Counter(r.group for r in planned)
    if not rights:
        raise MalformedCommand("balloting.open issues no ballots")
    if campaign.opens_makeup:
        voided = ctx.load_many(UUID(b) for b in campaign.voided_ballots())
        makeups = ctx.load_many(UUID(m) for m in campaign.makeups)
        check_makeup(appraisee_ids, issued, voided.values(), makeups.values())
    else:
        short = rules.quorum.refused_groups(issued)
        if short:
            raise RuleViolation(
                f"quorum not met for group {short[0]}", groups=list(short), issued=dict(issued)
            )
    _require_one_vote(ctx, campaign, frozenset(appraisee_ids), planned)
    attendance = dict(fields.obj(c["attendance"], "attendance")) if "attendance" in c else {}
    present = parse_attendance(attendance)
    for code in present:
        rules.group(code)
    rules.quorum.check_attendance(present, issued)
    anonymous = any(r.kind != NAMED for r in planned)
    meeting = Meeting(
        id=UUID(meeting_id),
        campaign_id=campaign_id,
        appraisee_ids=appraisee_ids,
        issued=dict(issued),
        rights=rights,
        attendance=attendance,
        rules=campaign.rules_document,
        appraisee_actors=campaign.actors_of(appraisee_ids),
        countersign=rules.countersign if anonymous else None,
        opened_by=ctx.signer.holder_id,
        envelope=ctx.recorded_envelope,
    )
    campaign.open_meeting(meeting_id, ctx.recorded_envelope)
    return Outcome([campaign, meeting, *aggregates])


def _require_one_vote(
    ctx: Context, campaign: Campaign, appraisees: frozenset[str], planned: list[PlannedRight]
) -> None:
    """No evaluator this opening names holds a standing ballot for one of its appraisees
    in another meeting of the campaign (`domain.balloting.require_one_vote`): only the
    meetings that appraise one of them can hold one, usually none."""
    named = [r for r in planned if r.kind == NAMED]
    groups = [g.code for g in campaign.rules.groups if not g.anonymous]
    sharing = campaign.meetings_appraising(appraisees) if named else []
    meetings = ctx.load_many(UUID(m) for m in sharing)
    held = ctx.load_many(
        right_id(str(m), group, NAMED, r.holder)
        for m in meetings
        for r in named
        for group in groups
    )
    ballots = ctx.load_many(UUID(h.ballot_id) for h in held.values() if h.ballot_id)
    for right in held.values():
        ballot = ballots.get(UUID(right.ballot_id)) if right.ballot_id else None
        meeting = meetings[UUID(right.meeting_id)]
        require_one_vote(right.holder, appraisees, right, meeting, ballot)


ANONYMOUS = {CREDENTIAL: True, PAPER: None, NAMED: False}  # what group each kind of right needs


def _require_group(rules: Any, code: str, anonymous: bool | None) -> None:
    group = rules.group(code)
    if anonymous is not None and group.anonymous != anonymous:
        kind = "anonymous (credentials or paper)" if group.anonymous else "named (evaluators)"
        raise RuleViolation(f"group {code} is {kind}")


def cast(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "meeting_id", "ballot_id", "group", "rows"}, {"paper_serial"})
    meeting_id = str(fields.uuid_field(c, "meeting_id"))
    ballot_id = fields.uuid_field(c, "ballot_id")
    group = fields.text(c, "group")
    meeting = ctx.find(UUID(meeting_id))
    if not isinstance(meeting, Meeting) or meeting.campaign_id != str(
        fields.uuid_field(c, "campaign_id")
    ):
        raise NotFound(f"no meeting {meeting_id} in this campaign")
    meeting.require_countersigned()
    meeting.check_signed_time(ctx.signer.holder, ctx.envelope.issued_at)
    right = _right(ctx, meeting_id, group)
    if right.kind == PAPER:
        load_campaign(ctx, UUID(meeting.campaign_id)).require_free(ctx.signer.holder_id, TELLER)
    if ctx.find(ballot_id) is not None:
        raise Conflict(f"ballot {ballot_id} already exists")
    rules = ctx.reads.derived(
        ("rules", meeting.id, meeting.version), lambda: parse_rules(meeting.rules)
    )
    rows = parse_rows(c["rows"])
    check_ballot_shape(rules, group, rows)
    own = meeting.appraisee_actors.get(ctx.signer.holder_id)
    check_self_rating(group, own, (row.appraisee_id for row in rows))
    validity = validate_ballot(
        rules, Ballot(str(ballot_id), group, rows, appraisees=meeting.appraisees), ()
    )
    at = meeting.stored_time(ctx.signer.holder)
    right.spend(str(ballot_id), at)
    ballot = CastBallot.cast(
        at,
        id=ballot_id,
        campaign_id=meeting.campaign_id,
        meeting_id=meeting_id,
        group=group,
        rows=list(c["rows"]),
        right=str(right.id),
        valid=validity.valid,
        reason=validity.reason,
        envelope=ctx.recorded_envelope,
    )
    return Outcome([right, ballot], stored_time=at)


def cast_reads(command: Mapping[str, Any], signer: str) -> list[UUID]:
    """What `cast` looks up besides the signer's binding: the meeting, the ballot id and
    the right spent, which a paper serial or a credential key names by itself."""
    meeting_id = str(UUID(command["meeting_id"]))
    ids = [UUID(meeting_id), UUID(command["ballot_id"])]
    if "paper_serial" in command:
        ids.append(right_id(meeting_id, command["group"], PAPER, command["paper_serial"]))
    else:
        ids.append(right_id(meeting_id, command["group"], CREDENTIAL, signer))
    return ids


def _right(ctx: Context, meeting_id: str, group: str) -> BallotRight:
    """The ballot right this signer spends: its credential, its name, or a paper serial."""
    c = ctx.command
    signer = ctx.signer
    if "paper_serial" in c:
        if signer.holder == CREDENTIAL:
            raise MalformedCommand("a credential ballot has no paper serial")
        fields.text(c, "paper_serial")
    right = ctx.find(spent_right_id(c, signer.holder, signer.holder_id))
    if not isinstance(right, BallotRight) or (right.meeting_id, right.group) != (meeting_id, group):
        raise WrongRole(f"the signer holds no ballot right in group {group} of this meeting")
    if not right.spendable_by(signer.holder, signer.holder_id, signer.roles):
        raise WrongRole(f"a {right.kind} ballot right is spent only by {SPENDERS[right.kind]}")
    return right


def _open_meeting(ctx: Context) -> Meeting:
    """The meeting a command names, in the campaign it names, still open."""
    c = ctx.command
    meeting = ctx.find(fields.uuid_field(c, "meeting_id"))
    if not isinstance(meeting, Meeting) or meeting.campaign_id != str(
        fields.uuid_field(c, "campaign_id")
    ):
        raise NotFound("no such meeting in this campaign")
    if not meeting.is_open:
        raise WrongState("balloting in this meeting is already closed")
    return meeting


def countersign(ctx: Context) -> Outcome:
    """The second official puts a meeting's opening into effect (rules'
    `credentials.countersign`)."""
    fields.only(ctx.command, {"campaign_id", "meeting_id"})
    meeting = _open_meeting(ctx)
    meeting.countersign_by(ctx.signer.holder_id, ctx.recorded_envelope)
    return Outcome([meeting])


def void_slips(ctx: Context) -> Outcome:
    """Void unused slips at the meeting, before the count: their rights can no longer be
    spent, and the close reconciles handed out = issued − voided."""
    c = ctx.command
    fields.only(c, {"campaign_id", "meeting_id"}, {"credentials", "paper"})
    listed = voided_rights(c)
    meeting = _open_meeting(ctx)
    rights = ctx.load_many(r.id for r in listed)
    voided = []
    for slip in listed:
        right = rights.get(slip.id)
        if not isinstance(right, BallotRight) or right.meeting_id != str(meeting.id):
            raise NotFound(f"no {slip.kind} slip {slip.holder} in group {slip.group} here")
        right.void()
        voided.append(right)
    meeting.void_slips(dict(Counter(r.group for r in listed)), ctx.recorded_envelope)
    return Outcome([meeting, *voided])


ENTRY_VOID_REASON_LENGTH = 500


def void_entry(ctx: Context) -> Outcome:
    """The teller who typed in a paper ballot voids their own entry before the close, with
    a reason; its serial may then be entered exactly once more (`BallotRight.reopen_entry`)."""
    c = ctx.command
    fields.only(c, {"campaign_id", "meeting_id", "ballot_id", "reason"})
    reason = fields.free_text(c, "reason", max_length=ENTRY_VOID_REASON_LENGTH)
    ballot_id = fields.uuid_field(c, "ballot_id")
    meeting = _open_meeting(ctx)
    ballot = ctx.find(ballot_id)
    if not isinstance(ballot, CastBallot) or ballot.meeting_id != str(meeting.id):
        raise NotFound(f"no ballot {ballot_id} in this meeting")
    right = ctx.find(UUID(ballot.right))
    teller = ctx.find(UUID(ctx.signer.holder_id))
    assert isinstance(right, BallotRight) and isinstance(teller, Actor)
    if right.kind != PAPER or not ballot.entered_with(teller.keys):
        raise WrongRole("only the teller who entered a paper ballot may void the entry")
    right.reopen_entry(str(ballot_id))
    ballot.void_entry(reason, ctx.recorded_envelope)
    return Outcome([right, ballot])


def close_balloting(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "meeting_id"})
    campaign = load_campaign(ctx)
    meeting = ctx.find(fields.uuid_field(c, "meeting_id"))
    if not isinstance(meeting, Meeting) or meeting.campaign_id != str(campaign.id):
        raise NotFound("no such meeting in this campaign")
    rights = ctx.load_many(UUID(r) for r in meeting.rights)
    spent = [UUID(r.ballot_id) for r in rights.values() if r.ballot_id]
    reconciliation = reconcile(meeting, rights.values(), ctx.load_many(spent).values())
    check_handed_out(meeting, reconciliation)
    unused = [r for r in rights.values() if r.state == "issued"]
    for right in unused:
        right.expire()
    head = ctx.witnessed_head()
    meeting.close(head, reconciliation, ctx.recorded_envelope)
    campaign.close_meeting(str(meeting.id), ctx.recorded_envelope)
    return Outcome([campaign, meeting, *unused])


SPECS = {
    "balloting.open": CommandSpec(open_balloting),
    "ballot.cast": CommandSpec(cast, credential_allowed=True, reads=cast_reads),
    "balloting.close": CommandSpec(close_balloting),
    "balloting.countersign": CommandSpec(countersign),
    "credentials.void": CommandSpec(void_slips),
    "ballot.void_entry": CommandSpec(void_entry),
}
