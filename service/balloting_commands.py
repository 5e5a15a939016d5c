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
    BallotRight,
    CastBallot,
    Meeting,
    parse_rows,
    right_id,
)
from domain.ballots import Ballot, check_ballot_shape, tally, validate_ballot
from domain.errors import Conflict, MalformedCommand, NotFound, RuleViolation, WrongRole
from domain.keys import decode_public_key, key_id
from domain.registry import ROLES, Actor, KeyBinding, key_binding_id
from domain.rules import parse_rules
from service.campaign_commands import load_campaign
from service.commands import CommandSpec, Context, Outcome

SELF_GROUP = "self"


def _issue_list(command: dict[str, Any], name: str, members: str) -> list[tuple[str, list[str]]]:
    issued = []
    for i, raw in enumerate(fields.items(command, name) if name in command else []):
        entry = fields.obj(raw, f"{name}[{i}]")
        fields.only(entry, {"group", members})
        holders = fields.items(entry, members)
        if not all(isinstance(h, str) and h for h in holders):
            raise MalformedCommand(f"{name}[{i}].{members} must be non-empty strings")
        if len(set(holders)) != len(holders):
            raise MalformedCommand(f"{name}[{i}].{members} lists a holder twice")
        issued.append((fields.text(entry, "group"), holders))
    return issued


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
    rules = campaign.rules
    appraisee_ids = (
        [str(a) for a in fields.uuid_list(c, "appraisee_ids")]
        if "appraisee_ids" in c
        else sorted(campaign.appraisees)
    )
    for appraisee_id in appraisee_ids:
        campaign.appraisee(appraisee_id)
    campaign_id = str(campaign.id)
    aggregates: list[Any] = []
    rights: list[str] = []
    issued: Counter[str] = Counter()

    def issue(group: str, kind: str, holder: str, public_key: str | None = None) -> None:
        rid = right_id(meeting_id, group, kind, holder)
        aggregates.append(
            BallotRight(
                id=rid,
                campaign_id=campaign_id,
                meeting_id=meeting_id,
                group=group,
                kind=kind,
                holder=holder,
                public_key=public_key,
            )
        )
        rights.append(str(rid))
        issued[group] += 1

    for group, keys in _issue_list(c, "credentials", "public_keys"):
        _require_group(rules, group, anonymous=True)
        for public_key in keys:
            kid = key_id(decode_public_key(public_key, what="credential"))
            if ctx.find(key_binding_id(kid)) is not None:
                raise Conflict(f"credential key {kid} is already in use")
            issue(group, CREDENTIAL, kid, public_key)
            aggregates.append(
                KeyBinding(
                    id=key_binding_id(kid), key_id=kid, holder=CREDENTIAL, holder_id=rights[-1]
                )
            )
    for group, serials in _issue_list(c, "paper", "serials"):
        _require_group(rules, group, anonymous=None)
        for serial in serials:
            issue(group, PAPER, serial)
    for group, actor_ids in _issue_list(c, "evaluators", "actor_ids"):
        _require_group(rules, group, anonymous=False)
        actor_uuids = fields.uuid_list({"actor_ids": actor_ids}, "actor_ids")
        evaluators = ctx.load_many(actor_uuids)
        for actor_id in map(str, actor_uuids):
            if not isinstance(evaluators.get(UUID(actor_id)), Actor):
                raise NotFound(f"evaluator {actor_id} is not a registered actor")
            issue(group, NAMED, actor_id)
    if not rights:
        raise MalformedCommand("balloting.open issues no ballots")
    short = rules.quorum.shortfalls(issued) if issued else ()
    short = tuple(g for g in short if g in issued or g in rules.quorum.min_count)
    if short:
        raise RuleViolation(
            f"quorum not met for group {short[0]}", groups=list(short), issued=dict(issued)
        )
    attendance = dict(fields.obj(c["attendance"], "attendance")) if "attendance" in c else {}
    actors = {
        a["actor_id"]: a["appraisee_id"]
        for a in campaign.appraisees.values()
        if "actor_id" in a and a["appraisee_id"] in appraisee_ids
    }
    meeting = Meeting(
        id=UUID(meeting_id),
        campaign_id=campaign_id,
        appraisee_ids=appraisee_ids,
        issued=dict(issued),
        rights=rights,
        attendance=attendance,
        rules=campaign.rules_document,
        appraisee_actors=actors,
        envelope=ctx.recorded_envelope,
    )
    campaign.open_meeting(meeting_id, ctx.recorded_envelope)
    return Outcome(
        [campaign, meeting, *aggregates], {"meeting_id": meeting_id, "issued": dict(issued)}
    )


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
    right = _right(ctx, meeting_id, group)
    if ctx.find(ballot_id) is not None:
        raise Conflict(f"ballot {ballot_id} already exists")
    rules = ctx.reads.derived(
        ("rules", meeting.id, meeting.version), lambda: parse_rules(meeting.rules)
    )
    rows = parse_rows(c["rows"])
    check_ballot_shape(rules, group, rows)
    _no_self_rating(ctx, meeting, group, rows)
    validity = validate_ballot(
        rules, Ballot(str(ballot_id), group, rows, appraisees=meeting.appraisees), ()
    )
    right.spend(str(ballot_id))
    ballot = CastBallot(
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
    return Outcome(
        [right, ballot],
        {"ballot_id": str(ballot_id), "valid": validity.valid, "reason": validity.reason},
        receipt_for=ballot_id,
    )


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
    if signer.holder == CREDENTIAL:
        if "paper_serial" in c:
            raise MalformedCommand("a credential ballot has no paper serial")
        right = signer.credential
    elif "paper_serial" in c:
        if "teller" not in signer.roles:
            raise WrongRole("only a teller enters paper ballots")
        right = ctx.find(right_id(meeting_id, group, PAPER, fields.text(c, "paper_serial")))
    else:
        right = ctx.find(right_id(meeting_id, group, NAMED, signer.holder_id))
    if not isinstance(right, BallotRight) or (right.meeting_id, right.group) != (meeting_id, group):
        raise WrongRole(f"the signer holds no ballot right in group {group} of this meeting")
    return right


def _no_self_rating(ctx: Context, meeting: Meeting, group: str, rows: Any) -> None:
    own = meeting.appraisee_actors.get(ctx.signer.holder_id)
    rated = {row.appraisee_id for row in rows}
    if group == SELF_GROUP:
        if own is None or rated != {own}:
            raise RuleViolation("a self-evaluation ballot rates its own appraisee only")
    elif own is not None and own in rated:
        raise RuleViolation("nobody rates themselves outside the self group")


def close_balloting(ctx: Context) -> Outcome:
    c = ctx.command
    fields.only(c, {"campaign_id", "meeting_id"})
    campaign = load_campaign(ctx)
    meeting = ctx.find(fields.uuid_field(c, "meeting_id"))
    if not isinstance(meeting, Meeting) or meeting.campaign_id != str(campaign.id):
        raise NotFound("no such meeting in this campaign")
    rights = ctx.load_many(UUID(r) for r in meeting.rights)
    unused = [r for r in rights.values() if r.state == "issued"]
    for right in unused:
        right.expire()
    spent = [UUID(r.ballot_id) for r in rights.values() if r.ballot_id]
    ballots = ctx.load_many(spent).values()
    rules = parse_rules(meeting.rules)
    appraisees = meeting.appraisees
    counts = tally(rules, [b.for_scoring(appraisees) for b in ballots])
    unused_by_group = Counter(r.group for r in unused)
    reconciliation = {
        group: {
            "issued": meeting.issued.get(group, 0),
            "unused": unused_by_group[group],
            **counts[group],
        }
        for group in sorted(set(meeting.issued) | set(counts))
    }
    head = ctx.witnessed_head()
    meeting.close(head, reconciliation, ctx.recorded_envelope)
    campaign.close_meeting(str(meeting.id), ctx.recorded_envelope)
    return Outcome(
        [campaign, meeting, *unused],
        {"meeting_id": str(meeting.id), "checkpoint": head, "reconciliation": reconciliation},
    )


SPECS = {
    "balloting.open": CommandSpec(open_balloting, frozenset({"organizer"})),
    "ballot.cast": CommandSpec(cast, ROLES, credential_allowed=True, reads=cast_reads),
    "balloting.close": CommandSpec(close_balloting, frozenset({"organizer"})),
}
