"""Counted = signed: how every event's payload follows from the signed command it records.

Why one table: the audit must not trust a single stored fact that a signature does not
cover. Each event topic has one rule per command type it may follow from, saying what
every payload field must be, read from the command's envelope or derived, with the
domain's own functions (the ones the command handlers call), from the signed events
before it. The verifier (`domain.audit`) compares each stored payload with its rule and
names the first field that differs; a payload field no rule gives is a finding too, so
an event cannot carry a fact that nothing signed vouches for.

Events without an envelope (rights issued, spent and expired, key bindings, grade
history, command records) follow from the command whose events they are written with;
their rules read that command. The genesis (the admin's registration and its key
binding, entries 0 and 1) follows from no command: its rules are keyed `GENESIS`. A few
fields are judged by other checks of the audit and marked `ELSEWHERE`: the tree heads
events rest on, and a proposal's hash and results (re-derived from the ballots).
"""

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.balloting import (
    CREDENTIAL,
    NAMED,
    PAPER,
    BallotRight,
    CastBallot,
    Meeting,
    PlannedRight,
    parse_rows,
    planned_rights,
    reconcile,
    spent_right_id,
    voided_rights,
)
from domain.ballots import Ballot, validate_ballot
from domain.campaign import (
    Campaign,
    parse_amendment,
    parse_committee,
    parse_details,
    parse_roster,
    parse_rules_document,
    parse_work_groups,
    publication_window_end,
)
from domain.command_record import CommandRecord
from domain.history import GradeHistory, history_id
from domain.keys import decode_public_key, key_id
from domain.rectification import RectificationPlan, parse_items, reported_on
from domain.registry import ADMIN_ACTOR_ID, Actor, KeyBinding, key_binding_id
from domain.report import Report, parse_parts, report_id
from domain.rules import parse_rules

GENESIS = None  # the command type of the genesis: there is none
STREAM = "stream"  # the pseudo-field naming the event's stream (aggregate id)
# Event attributes the event store keeps for itself: no command gives them, no derivation
# reads them (`timestamp` is the server's clock and is not covered by any signature).
BOOKKEEPING = frozenset({"originator_id", "originator_version", "originator_topic", "timestamp"})


class _Elsewhere:
    def __repr__(self) -> str:
        return "ELSEWHERE"


ELSEWHERE = _Elsewhere()  # a field another check of the audit judges
MISSING = "<missing>"


class Unfounded(Exception):
    """The event cannot follow from its command at all (wrong command, a stream the command
    does not write, a right in the wrong state); the message says why."""


@dataclass(frozen=True)
class Signed:
    """The command an event is written with, as its verified envelope says."""

    command: Mapping[str, Any]
    envelope: Mapping[str, Any]  # the envelope exactly as events store it
    digest: str
    holder: str  # "actor" or "credential"
    holder_id: str  # the signing actor's id, or the credential's ballot right id
    memo: dict[Any, Any] = field(default_factory=dict, compare=False)  # per command

    def remember(self, key: Any, compute: Callable[[], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


Find = Callable[[UUID], Any]  # an aggregate, or None when there is none


@dataclass(frozen=True)
class Occasion:
    """What a rule may look at: the event's stream, its aggregate before it, the command
    it is written with, and the aggregates replayed so far (all earlier events applied)."""

    stream: UUID
    before: Any
    signed: Signed | None
    find: Find
    state: Mapping[str, Any]  # the stored payload; rules read from it only to select
    cache: dict[Any, Any] = field(default_factory=dict, compare=False)  # the whole audit's

    @property
    def command(self) -> Mapping[str, Any]:
        assert self.signed is not None
        return self.signed.command


@dataclass(frozen=True)
class Disagreement:
    """The first payload field that differs from what the signed command gives."""

    field: str
    recorded: Any
    signed: Any

    def describe(self) -> str:
        if self.recorded is MISSING:
            return f"{self.field} is missing; the signed command gives {_short(self.signed)}"
        if self.signed is MISSING:
            return f"{self.field} is {_short(self.recorded)}, which no signed command gives"
        return (
            f"{self.field} is {_short(self.recorded)}, "
            f"but the signed command gives {_short(self.signed)}"
        )


Rule = Callable[[Occasion], dict[str, Any]]


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _same(recorded: Any, expected: Any) -> bool:
    """Equal as JSON values: `true` is not `1` and `80` is not `80.0`, whatever Python
    says; object key order does not matter."""
    if type(recorded) is not type(expected):
        return False
    if isinstance(recorded, dict):
        return recorded.keys() == expected.keys() and all(
            _same(value, expected[key]) for key, value in recorded.items()
        )
    if isinstance(recorded, list):
        return len(recorded) == len(expected) and all(map(_same, recorded, expected))
    return bool(recorded == expected)


# --- helpers the rules share ----------------------------------------------------------------


def _kid(public_key: str) -> str:
    return key_id(decode_public_key(public_key))


def _signed_by(o: Occasion, **fields: Any) -> dict[str, Any]:
    """An event that stores the command's envelope, with its other fields."""
    assert o.signed is not None
    return {**fields, "envelope": o.signed.envelope}


def _campaign_event(o: Occasion, **fields: Any) -> dict[str, Any]:
    return _signed_by(o, **{STREAM: o.command["campaign_id"]}, **fields)


def _planned(o: Occasion) -> dict[UUID, PlannedRight]:
    assert o.signed is not None
    return o.signed.remember("planned", lambda: {r.id: r for r in planned_rights(o.command)})


def _report_stream(o: Occasion) -> str:
    return str(report_id(o.command["campaign_id"], o.command["appraisee_id"]))


def _plan_event(o: Occasion, **fields: Any) -> dict[str, Any]:
    return _signed_by(o, **{STREAM: o.command["plan_id"]}, **fields)


def _plan_entry(o: Occasion, outcome: str) -> dict[str, Any]:
    c = o.command
    return _plan_event(
        o, item_id=c["item_id"], **{outcome: c[outcome]}, note=c["note"], on=reported_on(c)
    )


# --- the key registry -----------------------------------------------------------------------


def _registered(o: Occasion) -> dict[str, Any]:
    c = o.command
    return _signed_by(
        o,
        **{STREAM: c["actor_id"]},
        name=c["name"],
        roles=sorted(set(c["roles"])),
        public_key=c["public_key"],
        key_id=_kid(c["public_key"]),
    )


def _genesis_registered(o: Occasion) -> dict[str, Any]:
    """The root of trust: its key is the one recorded (the bundle header pins its id)."""
    public_key = o.state["public_key"]
    return {
        STREAM: str(ADMIN_ACTOR_ID),
        "name": "admin",
        "roles": ["admin"],
        "public_key": public_key,
        "key_id": _kid(public_key),
        "envelope": None,
    }


def _key_added(o: Occasion) -> dict[str, Any]:
    c = o.command
    return _signed_by(
        o, **{STREAM: c["actor_id"]}, public_key=c["public_key"], key_id=_kid(c["public_key"])
    )


def _key_revoked(name: str) -> Rule:
    def rule(o: Occasion) -> dict[str, Any]:
        return _signed_by(o, **{STREAM: o.command["actor_id"]}, key_id=o.command[name])

    return rule


def _roles_changed(grant: bool) -> Rule:
    def rule(o: Occasion) -> dict[str, Any]:
        held, named = set(o.before.roles), set(o.command["roles"])
        roles = held | named if grant else held - named
        return _signed_by(o, **{STREAM: o.command["actor_id"]}, roles=sorted(roles))

    return rule


def _actor_key_bound(o: Occasion) -> dict[str, Any]:
    kid = _kid(o.command["public_key"])
    return {
        STREAM: str(key_binding_id(kid)),
        "key_id": kid,
        "holder": "actor",
        "holder_id": o.command["actor_id"],
    }


def _credential_bound(o: Occasion) -> dict[str, Any]:
    assert o.signed is not None
    credentials = o.signed.remember(
        "credentials",
        lambda: {r.holder: r for r in _planned(o).values() if r.kind == CREDENTIAL},
    )
    right = credentials.get(o.state.get("key_id"))
    if right is None:
        raise Unfounded(f"binds key {o.state.get('key_id')}, which the command issues to no one")
    _seen(o, "bound", right.id)
    return {
        STREAM: str(key_binding_id(right.holder)),
        "key_id": right.holder,
        "holder": CREDENTIAL,
        "holder_id": str(right.id),
    }


def _genesis_bound(o: Occasion) -> dict[str, Any]:
    admin = o.find(ADMIN_ACTOR_ID)
    if not isinstance(admin, Actor):
        raise Unfounded("the genesis binding follows no genesis admin registration")
    kid = next(iter(admin.keys))
    return {
        STREAM: str(key_binding_id(kid)),
        "key_id": kid,
        "holder": "actor",
        "holder_id": str(ADMIN_ACTOR_ID),
    }


# --- campaigns ------------------------------------------------------------------------------


def _created(o: Occasion) -> dict[str, Any]:
    assert o.signed is not None
    c = o.command
    return _campaign_event(
        o,
        title=c["title"],
        year=c["year"],
        rules=parse_rules_document(c),
        details=parse_details(c),
        organizer_id=o.signed.holder_id,
    )


def _approval(o: Occasion) -> dict[str, Any]:
    assert o.signed is not None
    campaign = o.before
    return _campaign_event(
        o,
        actor_id=o.signed.holder_id,
        proposal_hash=o.command["proposal_hash"],
        adjustments=o.command["adjustments"],
        checkpoint=ELSEWHERE,
        complete=len(campaign.approvals) + 1 >= campaign.rules.min_signatures,
    )


def _committee_countersigned(o: Occasion) -> dict[str, Any]:
    assert o.signed is not None
    return _campaign_event(o, inspector_id=o.signed.holder_id, actor_ids=parse_committee(o.command))


def _dispute_lodged(o: Occasion) -> dict[str, Any]:
    assert o.signed is not None
    c = o.command
    return _campaign_event(
        o,
        dispute_id=c["dispute_id"],
        appraisee_id=c["appraisee_id"],
        grounds=c["grounds"],
        lodged_by=o.signed.holder_id,
    )


def _dispute_resolved(o: Occasion) -> dict[str, Any]:
    assert o.signed is not None
    c = o.command
    return _campaign_event(
        o,
        inspector_id=o.signed.holder_id,
        dispute_id=c["dispute_id"],
        decision=c["decision"],
        reason=c["reason"],
        voided=list(c.get("void_ballots", [])),
    )


# --- meetings, rights, ballots --------------------------------------------------------------


def _meeting_opened(o: Occasion) -> dict[str, Any]:
    assert o.signed is not None
    c = o.command
    campaign = o.find(UUID(c["campaign_id"]))
    if not isinstance(campaign, Campaign):
        raise Unfounded(f"opens a meeting of {c['campaign_id']}, which is no campaign")
    appraisee_ids = campaign.meeting_appraisees(c)
    planned = _planned(o).values()
    return _signed_by(
        o,
        **{STREAM: c["meeting_id"]},
        campaign_id=c["campaign_id"],
        appraisee_ids=appraisee_ids,
        issued=dict(Counter(r.group for r in planned)),
        rights=[str(r.id) for r in planned],
        attendance=dict(c.get("attendance", {})),
        rules=campaign.rules_document,
        appraisee_actors=campaign.actors_of(appraisee_ids),
        # Meetings opened before campaign snapshots copied the whole table (v1 bundles).
        duties=None if o.state.get("duties") is None else campaign.duty_table(),
        countersign=(
            parse_rules(campaign.rules_document).countersign
            if any(r.kind != NAMED for r in planned)
            else None
        ),
        opened_by=o.signed.holder_id,
    )


def _meeting_closed(o: Occasion) -> dict[str, Any]:
    meeting: Meeting = o.before
    rights = [o.find(UUID(r)) for r in meeting.rights]
    ballots = [o.find(UUID(r.ballot_id)) for r in rights if r is not None and r.ballot_id]
    return _signed_by(
        o,
        **{STREAM: o.command["meeting_id"]},
        checkpoint=ELSEWHERE,
        reconciliation=reconcile(meeting, [r for r in rights if r is not None], ballots),
    )


def _issued(o: Occasion) -> dict[str, Any]:
    right = _planned(o).get(o.stream)
    if right is None:
        raise Unfounded(f"right {o.stream} is not one the command issues")
    _seen(o, "issued", right.id)
    return {
        STREAM: str(right.id),
        "campaign_id": o.command["campaign_id"],
        "meeting_id": o.command["meeting_id"],
        "group": right.group,
        "kind": right.kind,
        "holder": right.holder,
        "public_key": right.public_key,
    }


def _cast_right(o: Occasion) -> str:
    assert o.signed is not None
    return str(spent_right_id(o.command, o.signed.holder, o.signed.holder_id))


def _spent(o: Occasion) -> dict[str, Any]:
    right: BallotRight = o.before
    if right.state != "issued":
        raise Unfounded(f"spends right {right.id}, which is already {right.state}")
    return {STREAM: _cast_right(o), "ballot_id": o.command["ballot_id"]}


def _meeting_countersigned(o: Occasion) -> dict[str, Any]:
    assert o.signed is not None
    meeting: Meeting = o.before
    if meeting.countersign is None or meeting.countersigned_by is not None:
        raise Unfounded(f"countersigns meeting {meeting.id}, which awaits no countersignature")
    if o.signed.holder_id == meeting.opened_by:
        raise Unfounded(f"countersigns meeting {meeting.id} by the organiser who opened it")
    return _signed_by(o, **{STREAM: o.command["meeting_id"]}, actor_id=o.signed.holder_id)


def _voided_slips(o: Occasion) -> dict[UUID, PlannedRight]:
    assert o.signed is not None
    return o.signed.remember("voided slips", lambda: {r.id: r for r in voided_rights(o.command)})


def _slips_voided(o: Occasion) -> dict[str, Any]:
    voided = Counter(r.group for r in _voided_slips(o).values())
    return _signed_by(o, **{STREAM: o.command["meeting_id"]}, voided=dict(voided))


def _right_voided(o: Occasion) -> dict[str, Any]:
    right: BallotRight = o.before
    if o.stream not in _voided_slips(o):
        raise Unfounded(f"voids right {o.stream}, which the command does not list")
    if right.meeting_id != o.command["meeting_id"] or right.state != "issued":
        raise Unfounded(f"voids right {right.id}, which is {right.state}, not unused in it")
    _seen(o, "slip voided", o.stream)
    return {STREAM: str(right.id)}


def _expired(o: Occasion) -> dict[str, Any]:
    right: BallotRight = o.before
    if right.meeting_id != o.command["meeting_id"] or right.state != "issued":
        raise Unfounded(f"expires right {right.id}, which is {right.state}, not unused in it")
    return {STREAM: str(right.id)}


_RULES_CACHED = "meeting rules"


def _cast(o: Occasion) -> dict[str, Any]:
    c = o.command
    meeting = o.find(UUID(c["meeting_id"]))
    if not isinstance(meeting, Meeting):
        raise Unfounded(f"is cast in {c['meeting_id']}, which is no meeting")
    if meeting.is_open and not meeting.in_effect:
        raise Unfounded(f"is cast before meeting {meeting.id} was countersigned")
    key = (_RULES_CACHED, meeting.id, meeting.version)
    cache = o.cache
    if key not in cache:
        cache.pop(cache.get(_RULES_CACHED), None)  # one meeting's at a time
        cache[key], cache[_RULES_CACHED] = parse_rules(meeting.rules), key
    ballot = Ballot(c["ballot_id"], c["group"], parse_rows(c["rows"]))
    validity = validate_ballot(cache[key], ballot, meeting.appraisee_ids)
    return _signed_by(
        o,
        **{STREAM: c["ballot_id"]},
        campaign_id=c["campaign_id"],
        meeting_id=c["meeting_id"],
        group=c["group"],
        rows=c["rows"],
        right=_cast_right(o),
        valid=validity.valid,
        reason=validity.reason,
    )


def _voided(o: Occasion) -> dict[str, Any]:
    c = o.command
    if str(o.stream) not in c.get("void_ballots", []):
        raise Unfounded(f"voids ballot {o.stream}, which the command does not name")
    _seen(o, "voided", str(o.stream))
    return _signed_by(o, **{STREAM: str(o.stream)}, reason=c["reason"], dispute_id=c["dispute_id"])


def _entry_reopened(o: Occasion) -> dict[str, Any]:
    """A teller's `ballot.void_entry` frees the slip its own standing paper entry spent,
    once, before the close."""
    assert o.signed is not None
    right: BallotRight = o.before
    c = o.command
    ballot = o.find(UUID(c["ballot_id"]))
    meeting = o.find(UUID(c["meeting_id"]))
    if right.kind != PAPER or right.state != "spent" or right.ballot_id != c["ballot_id"]:
        raise Unfounded(f"frees right {right.id}, which is no standing paper entry of it")
    if right.voided_entries or not isinstance(meeting, Meeting) or not meeting.is_open:
        raise Unfounded(f"frees right {right.id} a second time or after the close")
    if not ballot.entered_with(o.find(UUID(o.signed.holder_id)).keys):
        raise Unfounded(f"frees right {right.id} by another than the teller who entered it")
    _seen(o, "entry freed", str(right.id))
    return {STREAM: str(right.id), "ballot_id": c["ballot_id"]}


def _entry_voided(o: Occasion) -> dict[str, Any]:
    c = o.command
    if str(o.stream) != c["ballot_id"]:
        raise Unfounded(f"voids entry {o.stream}, which the command does not name")
    return _signed_by(o, **{STREAM: c["ballot_id"]}, reason=c["reason"])


# --- grade history --------------------------------------------------------------------------


def _graded_people(o: Occasion) -> dict[str, list[str]]:
    """Person id -> the grades `results.finalize` records for them, in the order written."""
    assert o.signed is not None

    def compute() -> dict[str, list[str]]:
        campaign = o.find(UUID(o.command["campaign_id"]))
        people = {a["appraisee_id"]: a["person_id"] for a in campaign.appraisees.values()}
        graded: dict[str, list[str]] = {}
        for appraisee_id, grade in sorted(campaign.final_grades().items()):
            if grade is not None:
                graded.setdefault(people[appraisee_id], []).append(grade)
        return graded

    return o.signed.remember("graded", compute)


def _history_started(o: Occasion) -> dict[str, Any]:
    person = o.state.get("person_id")
    if person not in _graded_people(o):
        raise Unfounded(f"starts the history of {person!r}, whom the campaign grades not")
    return {STREAM: str(history_id(person)), "person_id": person}


def _grade_recorded(o: Occasion) -> dict[str, Any]:
    assert o.signed is not None
    person = o.before.person_id
    grades = _graded_people(o).get(person, [])
    done = o.signed.memo.get(("recorded", person), 0)
    if done >= len(grades):
        raise Unfounded(f"records a grade of {person!r}, whom the campaign grades not (again)")
    o.signed.memo[("recorded", person)] = done + 1
    campaign = o.find(UUID(o.command["campaign_id"]))
    return {
        STREAM: str(history_id(person)),
        "year": campaign.year,
        "campaign_id": o.command["campaign_id"],
        "grade": grades[done],
    }


# --- command records ------------------------------------------------------------------------


def _status(c: Mapping[str, Any], find: Find, **more: Any) -> dict[str, Any]:
    return {"campaign_id": c["campaign_id"], "status": find(UUID(c["campaign_id"])).status, **more}


def _report_result(c: Mapping[str, Any], find: Find) -> dict[str, Any]:
    rid = report_id(c["campaign_id"], c["appraisee_id"])
    return {"report_id": str(rid), "status": find(rid).status}


def _campaign_of(c: Mapping[str, Any], find: Find) -> Any:
    """The command's campaign as its events left it."""
    return find(UUID(c["campaign_id"]))


def _committee(c: Mapping[str, Any], find: Find) -> dict[str, Any]:
    campaign = _campaign_of(c, find)
    return {
        "campaign_id": c["campaign_id"],
        "committee": campaign.committee,
        "pending": campaign.pending_committee,
    }


ResultRule = Callable[[Mapping[str, Any], Find], dict[str, Any]]

RESULTS: Mapping[str, ResultRule] = {
    "actor.register": lambda c, find: {"actor_id": c["actor_id"], "key_id": _kid(c["public_key"])},
    "actor.add_key": lambda c, find: {"actor_id": c["actor_id"], "key_id": _kid(c["public_key"])},
    "actor.rotate_key": lambda c, find: {
        "actor_id": c["actor_id"],
        "key_id": _kid(c["public_key"]),
        "revoked": c["old_key_id"],
    },
    "actor.revoke_key": lambda c, find: {"actor_id": c["actor_id"], "revoked": c["key_id"]},
    "actor.grant_roles": lambda c, find: {
        "actor_id": c["actor_id"],
        "roles": find(UUID(c["actor_id"])).roles,
    },
    "actor.revoke_roles": lambda c, find: {
        "actor_id": c["actor_id"],
        "roles": find(UUID(c["actor_id"])).roles,
    },
    "campaign.create": _status,
    "campaign.amend": _status,
    "campaign.add_appraisees": lambda c, find: {
        "campaign_id": c["campaign_id"],
        "appraisees": len(_campaign_of(c, find).appraisees),
    },
    "campaign.set_work_groups": lambda c, find: {
        "campaign_id": c["campaign_id"],
        "work_groups": len(c["work_groups"]),
    },
    "campaign.publish": _status,
    "campaign.name_committee": _committee,
    "campaign.countersign_committee": _committee,
    "assessment.record": lambda c, find: {"campaign_id": c["campaign_id"]},
    "report.submit": _report_result,
    "report.accept": _report_result,
    "report.return": _report_result,
    "balloting.open": lambda c, find: {
        "meeting_id": c["meeting_id"],
        "issued": find(UUID(c["meeting_id"])).issued,
    },
    "ballot.cast": lambda c, find: {
        "ballot_id": c["ballot_id"],
        "valid": find(UUID(c["ballot_id"])).valid,
        "reason": find(UUID(c["ballot_id"])).reason,
    },
    "balloting.close": lambda c, find: {
        "meeting_id": c["meeting_id"],
        **find(UUID(c["meeting_id"])).closed,
    },
    "balloting.countersign": lambda c, find: {
        "meeting_id": c["meeting_id"],
        "countersigned_by": find(UUID(c["meeting_id"])).countersigned_by,
    },
    "credentials.void": lambda c, find: {
        "meeting_id": c["meeting_id"],
        "voided": len(voided_rights(c)),
    },
    "ballot.void_entry": lambda c, find: {
        "ballot_id": c["ballot_id"],
        "right_state": find(UUID(find(UUID(c["ballot_id"])).right)).state,
    },
    "results.propose": lambda c, find: _status(
        c, find, proposal_hash=_campaign_of(c, find).proposal["hash"]
    ),
    "results.approve": lambda c, find: _status(
        c, find, signatures=len(_campaign_of(c, find).approvals)
    ),
    "results.publish": lambda c, find: _status(
        c, find, window_ends=_campaign_of(c, find).window_ends
    ),
    "results.finalize": _status,
    "dispute.lodge": lambda c, find: {
        "campaign_id": c["campaign_id"],
        "dispute_id": c["dispute_id"],
    },
    "dispute.resolve": lambda c, find: _status(
        c, find, dispute_id=c["dispute_id"], voided=list(c.get("void_ballots", []))
    ),
    "feedback.acknowledge": lambda c, find: {
        "campaign_id": c["campaign_id"],
        "appraisee_id": c["appraisee_id"],
    },
    "consequence.interview": lambda c, find: {
        "campaign_id": c["campaign_id"],
        "appraisee_id": c["appraisee_id"],
        "held_on": reported_on(c),
    },
    "rectification.create": lambda c, find: {"plan_id": c["plan_id"], "items": len(c["items"])},
    "rectification.progress": lambda c, find: {"plan_id": c["plan_id"]},
    "rectification.check": lambda c, find: {"plan_id": c["plan_id"]},
    "rectification.close": lambda c, find: {"plan_id": c["plan_id"], "closed": True},
}


def command_result(command: Mapping[str, Any], find: Find) -> dict[str, Any]:
    """A command's answer, from the command and the aggregates its events left: the server
    answers with it and records it, and the audit derives it again."""
    return RESULTS[command["type"]](command, find)


def receipt_stream(command: Mapping[str, Any]) -> str | None:
    """The stream whose first leaf a command's receipt proves: a ballot's own."""
    return command["ballot_id"] if command["type"] == "ballot.cast" else None


def _seen(o: Occasion, kind: str, what: Any) -> None:
    """Note an unsigned event of the command, for `_missing` at its record."""
    assert o.signed is not None
    o.signed.memo.setdefault(("seen", kind), set()).add(what)


def _missing(o: Occasion) -> str | None:
    """The first event the command should have written but did not: a right it issues,
    a credential it binds, a right its close leaves unused, a ballot it voids, a grade
    its finalisation records."""
    assert o.signed is not None
    c, memo = o.command, o.signed.memo

    def seen(kind: str) -> set[Any]:
        return memo.get(("seen", kind), set())

    if c["type"] == "balloting.open":
        planned = _planned(o).values()
        for right in planned:
            if right.id not in seen("issued"):
                return f"right {right.id} it issues"
            if right.kind == CREDENTIAL and right.id not in seen("bound"):
                return f"the binding of credential {right.holder}"
    elif c["type"] == "balloting.close":
        for right_id in o.find(UUID(c["meeting_id"])).rights:
            if o.find(UUID(right_id)).state == "issued":
                return f"the expiry of unused right {right_id}"
    elif c["type"] == "credentials.void":
        for slip in _voided_slips(o).values():
            if slip.id not in seen("slip voided"):
                return f"the voiding of slip {slip.holder}"
    elif c["type"] == "ballot.void_entry":
        if str(o.find(UUID(c["ballot_id"])).right) not in seen("entry freed"):
            return f"the freeing of the slip ballot {c['ballot_id']} spent"
    elif c["type"] == "dispute.resolve":
        for ballot_id in c.get("void_ballots", []):
            if ballot_id not in seen("voided"):
                return f"the voiding of ballot {ballot_id}"
    elif c["type"] == "results.finalize":
        for person, grades in _graded_people(o).items():
            if memo.get(("recorded", person), 0) != len(grades):
                return f"the grade of {person!r} for this campaign"
    return None


def _accepted(o: Occasion) -> dict[str, Any]:
    assert o.signed is not None
    c = o.command
    missing = _missing(o)
    if missing is not None:
        raise Unfounded(f"closes command {c['id']}, which never wrote {missing}")
    return {
        STREAM: c["id"],
        "command_type": c["type"],
        "signer": o.signed.envelope["signer"],
        "digest": o.signed.digest,
        "result": command_result(c, o.find),
        "receipt_for": receipt_stream(c),
    }


# --- the table ------------------------------------------------------------------------------


def _envelope_only(stream_field: str) -> Rule:
    def rule(o: Occasion) -> dict[str, Any]:
        return _signed_by(o, **{STREAM: o.command[stream_field]})

    return rule


def _campaign_fields(*names: str, **derived: Callable[[Mapping[str, Any]], Any]) -> Rule:
    """A campaign event whose fields are the command's fields of the same names."""

    def rule(o: Occasion) -> dict[str, Any]:
        c = o.command
        values = {n: c[n] for n in names} | {n: f(c) for n, f in derived.items()}
        return _campaign_event(o, **values)

    return rule


def _topic(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


ACTOR_COMMANDS_WITH_KEYS = ("actor.register", "actor.add_key", "actor.rotate_key")
CAMPAIGN_ENVELOPE_ONLY = _envelope_only("campaign_id")

ANY_COMMAND = "*"
# topic -> {command type (GENESIS for none, ANY_COMMAND for every one) -> rule}
RULES: Mapping[str, Mapping[str | None, Rule]] = {
    _topic(Actor.Registered): {GENESIS: _genesis_registered, "actor.register": _registered},
    _topic(Actor.KeyAdded): {"actor.add_key": _key_added, "actor.rotate_key": _key_added},
    _topic(Actor.KeyRevoked): {
        "actor.revoke_key": _key_revoked("key_id"),
        "actor.rotate_key": _key_revoked("old_key_id"),
    },
    _topic(Actor.RolesChanged): {
        "actor.grant_roles": _roles_changed(grant=True),
        "actor.revoke_roles": _roles_changed(grant=False),
    },
    _topic(KeyBinding.Bound): {
        GENESIS: _genesis_bound,
        **dict.fromkeys(ACTOR_COMMANDS_WITH_KEYS, _actor_key_bound),
        "balloting.open": _credential_bound,
    },
    _topic(Campaign.Created): {"campaign.create": _created},
    _topic(Campaign.Amended): {
        "campaign.amend": lambda o: _campaign_event(o, changes=parse_amendment(o.command))
    },
    _topic(Campaign.AppraiseesAdded): {
        "campaign.add_appraisees": lambda o: _campaign_event(o, appraisees=parse_roster(o.command))
    },
    _topic(Campaign.WorkGroupsSet): {
        "campaign.set_work_groups": lambda o: _campaign_event(
            o, work_groups=parse_work_groups(o.command)
        )
    },
    _topic(Campaign.Published): {"campaign.publish": CAMPAIGN_ENVELOPE_ONLY},
    _topic(Campaign.CommitteeNamed): {
        "campaign.name_committee": lambda o: _campaign_event(
            o, actor_ids=parse_committee(o.command)
        )
    },
    _topic(Campaign.CommitteeAdditionProposed): {
        "campaign.name_committee": lambda o: _campaign_event(
            o, actor_ids=parse_committee(o.command)
        )
    },
    _topic(Campaign.CommitteeCountersigned): {
        "campaign.countersign_committee": _committee_countersigned
    },
    _topic(Campaign.MeetingOpened): {"balloting.open": _campaign_fields("meeting_id")},
    _topic(Campaign.MeetingClosed): {"balloting.close": _campaign_fields("meeting_id")},
    _topic(Campaign.AssessmentRecorded): {
        "assessment.record": _campaign_fields("appraisee_id", "assessment", "value")
    },
    _topic(Campaign.ResultsProposed): {
        "results.propose": lambda o: _campaign_event(
            o, proposal_hash=ELSEWHERE, results=ELSEWHERE, checkpoint=ELSEWHERE
        )
    },
    _topic(Campaign.ApprovalSigned): {"results.approve": _approval},
    _topic(Campaign.ResultsPublished): {
        "results.publish": _campaign_fields(
            window_ends=lambda c: publication_window_end(c).isoformat()
        )
    },
    _topic(Campaign.DisputeLodged): {"dispute.lodge": _dispute_lodged},
    _topic(Campaign.DisputeResolved): {"dispute.resolve": _dispute_resolved},
    _topic(Campaign.Finalized): {"results.finalize": CAMPAIGN_ENVELOPE_ONLY},
    _topic(Campaign.FeedbackAcknowledged): {
        "feedback.acknowledge": _campaign_fields("appraisee_id")
    },
    _topic(Campaign.InterviewRecorded): {
        "consequence.interview": _campaign_fields("appraisee_id", "note", held_on=reported_on)
    },
    _topic(Meeting.Opened): {"balloting.open": _meeting_opened},
    _topic(Meeting.Closed): {"balloting.close": _meeting_closed},
    _topic(Meeting.Countersigned): {"balloting.countersign": _meeting_countersigned},
    _topic(Meeting.SlipsVoided): {"credentials.void": _slips_voided},
    _topic(BallotRight.Voided): {"credentials.void": _right_voided},
    _topic(BallotRight.Issued): {"balloting.open": _issued},
    _topic(BallotRight.Spent): {"ballot.cast": _spent},
    _topic(BallotRight.Expired): {"balloting.close": _expired},
    _topic(CastBallot.Cast): {"ballot.cast": _cast},
    _topic(CastBallot.Voided): {"dispute.resolve": _voided},
    _topic(CastBallot.EntryVoided): {"ballot.void_entry": _entry_voided},
    _topic(BallotRight.EntryVoided): {"ballot.void_entry": _entry_reopened},
    _topic(Report.Submitted): {
        "report.submit": lambda o: _signed_by(
            o,
            **{STREAM: _report_stream(o)},
            campaign_id=o.command["campaign_id"],
            appraisee_id=o.command["appraisee_id"],
            parts=parse_parts(o.command),
        )
    },
    _topic(Report.Resubmitted): {
        "report.submit": lambda o: _signed_by(
            o, **{STREAM: _report_stream(o)}, parts=parse_parts(o.command)
        )
    },
    _topic(Report.Reviewed): {
        command_type: lambda o: _signed_by(
            o,
            **{STREAM: _report_stream(o)},
            accepted=o.command["type"] == "report.accept",
            comments=o.command.get("comments", ""),
        )
        for command_type in ("report.accept", "report.return")
    },
    _topic(RectificationPlan.Created): {
        "rectification.create": lambda o: _plan_event(
            o,
            campaign_id=o.command["campaign_id"],
            appraisee_id=o.command["appraisee_id"],
            items=parse_items(o.command),
        )
    },
    _topic(RectificationPlan.ProgressReported): {
        "rectification.progress": lambda o: _plan_entry(o, "done")
    },
    _topic(RectificationPlan.FollowUpChecked): {
        "rectification.check": lambda o: _plan_entry(o, "passed")
    },
    _topic(RectificationPlan.Closed): {"rectification.close": _envelope_only("plan_id")},
    _topic(GradeHistory.Started): {"results.finalize": _history_started},
    _topic(GradeHistory.GradeRecorded): {"results.finalize": _grade_recorded},
    _topic(CommandRecord.Accepted): {ANY_COMMAND: _accepted},
}
# Topics whose events store no envelope: each follows from the command it is written with.
WITHOUT_ENVELOPE = frozenset(
    _topic(cls)
    for cls in (
        KeyBinding.Bound,
        BallotRight.Issued,
        BallotRight.Spent,
        BallotRight.Expired,
        BallotRight.Voided,
        BallotRight.EntryVoided,
        GradeHistory.Started,
        GradeHistory.GradeRecorded,
        CommandRecord.Accepted,
    )
)


def disagreement(topic: str, occasion: Occasion) -> Disagreement | None:
    """The first field of the stored payload that is not what the event's rule gives
    (fields in the rule's order, then any the rule does not give); None when all agree.
    Raises Unfounded when the event cannot follow from its command at all."""
    by_command = RULES.get(topic)
    if by_command is None:
        raise Unfounded(f"{topic} has no rule saying how it follows from a signed command")
    command_type = None if occasion.signed is None else occasion.command["type"]
    rule = by_command.get(command_type)
    if rule is None and command_type is not None:
        rule = by_command.get(ANY_COMMAND)
    if rule is None:
        source = f"a {command_type} command" if command_type else "no signed command"
        raise Unfounded(f"{topic.rsplit(':', 1)[-1]} cannot follow from {source}")
    expected = rule(occasion)
    recorded = {STREAM: str(occasion.stream)}
    recorded.update((k, v) for k, v in occasion.state.items() if k not in BOOKKEEPING)
    for name, value in expected.items():
        if name not in recorded:
            return Disagreement(name, MISSING, value)
        if value is not ELSEWHERE and not _same(recorded[name], value):
            return Disagreement(name, recorded[name], value)
    for name in recorded:
        if name not in expected:
            return Disagreement(name, recorded[name], MISSING)
    return None
