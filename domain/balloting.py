"""Meetings, ballot rights and cast ballots (DESIGN §4).

A ballot right is issued per participant when balloting opens: a one-time
credential (anonymous groups), a named evaluator, or a paper slip serial a
teller types in. Casting spends the right; closing expires every unspent one.
Both write the right's next version, so a ballot racing the close loses in the
store and issued = cast + unused holds exactly. Casting touches only the right
and the new ballot: no aggregate grows with the number of ballots.
"""

import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain import fields
from domain.aggregate import EventSourced, created_at
from domain.ballots import Ballot, Row, tally
from domain.envelope import format_timestamp
from domain.errors import (
    Conflict,
    MalformedCommand,
    RuleViolation,
    StaleCommand,
    WrongRole,
    WrongState,
)
from domain.keys import decode_public_key, key_id
from domain.registry import IDS_CACHED, NAMESPACE
from domain.roles import TELLER
from domain.rules import parse_decimal, parse_rules

CREDENTIAL = "credential"
NAMED = "named"
PAPER = "paper"
VOIDED = "voided"  # a right's state once its unused slip is voided at the meeting
SPENDERS = {
    CREDENTIAL: "its own one-time credential",
    NAMED: "the evaluator it names",
    PAPER: "a teller entering the paper slip",
}


@lru_cache(maxsize=IDS_CACHED)
def right_id(meeting_id: str, group: str, kind: str, holder: str) -> UUID:
    """Deterministic: a ballot names its right by meeting, group and holder (kept, as
    `key_binding_id` is: reading ahead and deciding each compute it)."""
    return uuid.uuid5(NAMESPACE, f"right:{meeting_id}:{group}:{kind}:{holder}")


@dataclass(frozen=True)
class PlannedRight:
    """A ballot right `balloting.open` issues: a credential (holder = its key id), a paper
    slip (holder = its serial) or a named evaluator (holder = the actor id)."""

    id: UUID
    group: str
    kind: str
    holder: str
    public_key: str | None = None


def _issue_list(command: Mapping[str, Any], name: str, members: str) -> list[tuple[str, list]]:
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


def _slip_rights(command: Mapping[str, Any]) -> list[PlannedRight]:
    """The anonymous rights a command lists: `credentials` by public key, `paper` by serial."""
    meeting_id = str(fields.uuid_field(command, "meeting_id"))
    listed = []
    for group, public_keys in _issue_list(command, "credentials", "public_keys"):
        keyed = sorted((key_id(decode_public_key(k, what="credential")), k) for k in public_keys)
        for kid, public_key in keyed:
            rid = right_id(meeting_id, group, CREDENTIAL, kid)
            listed.append(PlannedRight(rid, group, CREDENTIAL, kid, public_key))
    for group, serials in _issue_list(command, "paper", "serials"):
        listed += [
            PlannedRight(right_id(meeting_id, group, PAPER, s), group, PAPER, s) for s in serials
        ]
    return listed


def planned_rights(command: Mapping[str, Any]) -> list[PlannedRight]:
    """The rights a `balloting.open` command issues, in the order they are written:
    credentials, paper slips, named evaluators. The handler issues these and the audit
    (`domain.provenance`) checks every issued right against them.

    Each group's credentials are issued in key-id order, whatever order the command lists
    them in: the list is usually the slips' print order, and recording it would tie slip
    number k to the k-th right, key binding and ballot (DESIGN §4)."""
    meeting_id = str(fields.uuid_field(command, "meeting_id"))
    planned = _slip_rights(command)
    for group, actor_ids in _issue_list(command, "evaluators", "actor_ids"):
        for actor_uuid in fields.uuid_list({"actor_ids": actor_ids}, "actor_ids"):
            actor_id = str(actor_uuid)
            planned.append(
                PlannedRight(right_id(meeting_id, group, NAMED, actor_id), group, NAMED, actor_id)
            )
    return planned


def voided_rights(command: Mapping[str, Any]) -> list[PlannedRight]:
    """The unused slips a `credentials.void` command voids: credentials by public key (the
    ledger already ties a credential's key to its right, never to a printed serial) and
    paper slips by serial; each once."""
    listed = _slip_rights(command)
    if not listed:
        raise MalformedCommand("credentials.void lists no slips")
    if len({r.id for r in listed}) != len(listed):
        raise MalformedCommand("credentials.void lists a slip twice")
    return listed


def spent_right_id(command: Mapping[str, Any], holder: str, holder_id: str) -> UUID:
    """The right a `ballot.cast` spends: the signing credential's own, the paper slip a
    teller types in, or the signing evaluator's."""
    meeting_id, group = command["meeting_id"], command["group"]
    if holder == CREDENTIAL:
        return UUID(holder_id)
    if "paper_serial" in command:
        return right_id(meeting_id, group, PAPER, command["paper_serial"])
    return right_id(meeting_id, group, NAMED, holder_id)


class Meeting(EventSourced):
    @event("Opened")
    def __init__(
        self,
        id: UUID,
        campaign_id: str,
        appraisee_ids: list[str],
        issued: dict[str, int],
        rights: list[str],
        attendance: dict[str, Any],
        rules: dict[str, Any],
        appraisee_actors: dict[str, str],
        countersign: str | None,
        opened_by: str,
        envelope: dict[str, Any],
        duties: dict[str, list[str]] | None = None,
    ) -> None:
        """`duties`: the campaign's whole duty table, which meetings opened before
        campaign snapshots copied (AUDIT.md, Meeting.Opened); none since, because it grew
        with the roster in every opening. Tellers are checked against the campaign."""
        self.campaign_id = campaign_id
        self.appraisee_ids = appraisee_ids
        self.issued = issued
        self.rights = rights
        self.attendance = attendance
        self.rules = rules  # a copy of the frozen rules, so casting never loads the campaign
        self.appraisee_actors = appraisee_actors  # actor id -> own appraisee id
        self.countersign = countersign  # the role whose countersignature it awaits, if any
        self.opened_by = opened_by  # the organiser's actor id
        self.countersigned_by: str | None = None
        self.closed: dict[str, Any] | None = None

    @property
    def appraisees(self) -> frozenset[str]:
        """Whom this meeting appraised: the only appraisees its ballots may name."""
        return frozenset(self.appraisee_ids)

    def stored_time(self, holder: str) -> datetime | None:
        """The time to store on the events of a ballot its `holder` signs: for a one-time
        credential the meeting's opening, so nothing stored ties an anonymous ballot to a
        time finer than its meeting (DESIGN §4); None (the clock) for named and paper."""
        return self.created_on if holder == CREDENTIAL else None

    @property
    def opened_at(self) -> str:
        """The meeting's opening to the second, as `format_timestamp` writes it: published
        in the ballot definition as the `issued_at` a credential ballot is to sign."""
        return format_timestamp(self.created_on)

    def check_signed_time(self, holder: str, issued_at: datetime) -> None:
        """A credential ballot signs the meeting's opening as its `issued_at`, never the
        voter's clock, so not even the signed envelope dates it finer than its meeting
        (DESIGN §4, PRIVACY.md). Its replay guard is the one-time right, not the window."""
        if holder == CREDENTIAL and issued_at != self.created_on.replace(microsecond=0):
            raise StaleCommand(
                f"a credential ballot signs its meeting's opening {self.opened_at} as issued_at",
                expected=self.opened_at,
            )

    @property
    def is_open(self) -> bool:
        return self.closed is None

    @property
    def in_effect(self) -> bool:
        """Whether its rights may be spent: open, and countersigned where the rules ask."""
        return self.is_open and (self.countersign is None or self.countersigned_by is not None)

    def require_countersigned(self) -> None:
        """Refuse a ballot while the opening awaits its countersignature (a closed
        meeting's ballot is refused by its right, which the close expired)."""
        if self.is_open and not self.in_effect:
            raise WrongState(
                f"balloting in this meeting awaits the {self.countersign}'s countersignature"
            )

    def countersign_by(self, actor_id: str, envelope: dict[str, Any]) -> None:
        """The second official's signature that puts the opening into effect."""
        if not self.is_open:
            raise WrongState("balloting in this meeting is already closed")
        if self.countersign is None:
            raise WrongState("this meeting's rules ask for no countersignature")
        if self.countersigned_by is not None:
            raise WrongState("this meeting is already countersigned")
        if actor_id == self.opened_by:
            raise WrongRole("the countersigner must be another official than the organiser")
        self._countersigned(actor_id, envelope)

    def void_slips(self, voided: dict[str, int], envelope: dict[str, Any]) -> None:
        """Record the slips voided at the meeting, per group (each right records its own)."""
        if not self.is_open:
            raise WrongState("balloting in this meeting is already closed")
        self._slips_voided(voided, envelope)

    @event("SlipsVoided")
    def _slips_voided(self, voided: dict[str, int], envelope: dict[str, Any]) -> None:
        pass

    @event("Countersigned")
    def _countersigned(self, actor_id: str, envelope: dict[str, Any]) -> None:
        self.countersigned_by = actor_id

    def close(
        self, checkpoint: dict[str, Any], reconciliation: dict[str, Any], envelope: dict[str, Any]
    ) -> None:
        if not self.is_open:
            raise WrongState("balloting in this meeting is already closed")
        self._close(checkpoint, reconciliation, envelope)

    @event("Closed")
    def _close(
        self, checkpoint: dict[str, Any], reconciliation: dict[str, Any], envelope: dict[str, Any]
    ) -> None:
        self.closed = {"checkpoint": checkpoint, "reconciliation": reconciliation}


class BallotRight(EventSourced):
    @event("Issued")
    def __init__(
        self,
        id: UUID,
        campaign_id: str,
        meeting_id: str,
        group: str,
        kind: str,
        holder: str,
        public_key: str | None,
    ) -> None:
        self.campaign_id = campaign_id
        self.meeting_id = meeting_id
        self.group = group
        self.kind = kind
        self.holder = holder
        self.public_key = public_key
        self.state = "issued"
        self.ballot_id: str | None = None
        self.voided_entries: list[str] = []  # paper entries its teller voided (at most one)

    def spendable_by(self, holder: str, holder_id: str, roles: Collection[str]) -> bool:
        """Whose signature may spend this right (DESIGN §4): `holder` and `holder_id` say
        what the signing key is bound to (an actor, or a credential's right)."""
        if self.kind == CREDENTIAL:
            return holder == CREDENTIAL and holder_id == str(self.id)
        if self.kind == NAMED:
            return holder == "actor" and holder_id == self.holder
        return holder == "actor" and TELLER in roles

    def spend(self, ballot_id: str, at: datetime | None = None) -> None:
        """`at` is the time the store records (`Meeting.stored_time`); None: the clock."""
        if self.state == "spent":
            raise WrongState("this ballot right was already used", ballot_id=self.ballot_id)
        if self.state == "expired":
            raise WrongState("balloting closed before this right was used")
        if self.state == VOIDED:
            raise WrongState("this slip was voided (作废) at the meeting and cannot be used")
        self.trigger_event(BallotRight.Spent, ballot_id=ballot_id, timestamp=at)

    @event("Spent")
    def _spend(self, ballot_id: str) -> None:
        self.state = "spent"
        self.ballot_id = ballot_id

    def reopen_entry(self, ballot_id: str) -> None:
        """The teller voided the paper entry `ballot_id` spent on this slip: the serial may
        be entered exactly once more."""
        if self.kind != PAPER:
            raise WrongRole("only a paper entry is voided by the teller who entered it")
        if self.state != "spent" or self.ballot_id != ballot_id:
            raise WrongState(f"ballot {ballot_id} is not this slip's standing entry")
        if self.voided_entries:
            raise WrongState(
                f"paper slip {self.holder} was already entered again once: no second correction"
            )
        self._reopen_entry(ballot_id)

    @event("EntryVoided")
    def _reopen_entry(self, ballot_id: str) -> None:
        self.state = "issued"
        self.ballot_id = None
        # a new list: the auditor judges this event on a shallow copy of the right before it
        self.voided_entries = [*self.voided_entries, ballot_id]

    @event("Expired")
    def expire(self) -> None:
        self.state = "expired"

    def void(self) -> None:
        """Void an unused slip at the meeting (作废): a spent right stays counted."""
        if self.state == "spent":
            raise WrongState("this slip was already used: a cast ballot cannot be voided here")
        if self.state != "issued":
            raise WrongState(f"this slip is already {self.state}")
        self._void()

    @event("Voided")
    def _void(self) -> None:
        self.state = VOIDED


class CastBallot(EventSourced):
    """A ballot as cast, with its validity judged at the door and kept for audit."""

    @event("Cast")
    def __init__(
        self,
        id: UUID,
        campaign_id: str,
        meeting_id: str,
        group: str,
        rows: list[dict[str, Any]],
        right: str,
        valid: bool,
        reason: str | None,
        envelope: dict[str, Any],
    ) -> None:
        self.campaign_id = campaign_id
        self.meeting_id = meeting_id
        self.group = group
        self.rows = envelope["command"]["rows"]  # what is counted is the signed copy
        self.right = right
        self.valid = valid
        self.reason = reason
        self.signer = envelope["signer"]
        self.voided: dict[str, str] | None = None
        self.entry_voided: str | None = None  # the teller's reason, once they voided it

    @classmethod
    def cast(cls, at: datetime | None, **fields: Any) -> "CastBallot":
        """A new ballot whose Cast event records time `at` (`Meeting.stored_time`)."""
        return created_at(cls, cls.Cast, at, **fields)

    def for_scoring(self, appraisees: frozenset[str], position: int | None = None) -> Ballot:
        """The ballot as validity and scoring read it, judged against ``appraisees``: its
        meeting's (`Meeting.appraisees`)."""
        return Ballot(
            str(self.id),
            self.group,
            parse_rows(self.rows),
            voided=None if self.voided is None else self.voided["reason"],
            signer=self.signer,
            position=position,
            appraisees=appraisees,
        )

    def entered_with(self, keys: Collection[str]) -> bool:
        """Whether one of `keys` (an actor's key ids, revoked ones included) signed it."""
        return self.signer in keys

    @property
    def rated(self) -> frozenset[str]:
        """The appraisees its rows name (abstentions included): the disputes it falls under."""
        return frozenset(row["appraisee_id"] for row in self.rows)

    def void(self, reason: str, dispute_id: str, envelope: dict[str, Any]) -> None:
        if self.voided is not None or self.entry_voided is not None:
            raise WrongState(f"ballot {self.id} is already voided")
        self._void(reason, dispute_id, envelope)

    def void_entry(self, reason: str, envelope: dict[str, Any]) -> None:
        """The entering teller's own correction before the close: the entry stays in the
        ledger, counted as voided by the teller, neither valid nor invalid."""
        if self.entry_voided is not None or self.voided is not None:
            raise WrongState(f"ballot {self.id} is already voided")
        self._void_entry(reason, envelope)

    @event("EntryVoided")
    def _void_entry(self, reason: str, envelope: dict[str, Any]) -> None:
        self.entry_voided = reason

    @event("Voided")
    def _void(self, reason: str, dispute_id: str, envelope: dict[str, Any]) -> None:
        self.voided = {"reason": reason, "dispute_id": dispute_id}


def reconcile(
    meeting: Meeting, rights: Iterable[BallotRight], ballots: Iterable[CastBallot]
) -> dict[str, dict[str, Any]]:
    """Issued = handed out + voided and handed out = cast + unused, per group, as a
    meeting's close records it: `rights` are the meeting's rights before the unused ones
    expire, `ballots` those standing on them (a paper entry its teller voided is counted
    apart, as `entries_voided`, and its slip as unused or cast again)."""
    counts = tally(parse_rules(meeting.rules), [b.for_scoring(meeting.appraisees) for b in ballots])
    rights = list(rights)
    unused = Counter(r.group for r in rights if r.state == "issued")
    voided = Counter(r.group for r in rights if r.state == VOIDED)
    corrected: Counter[str] = Counter()
    for r in rights:
        corrected[r.group] += len(r.voided_entries)

    def row(group: str) -> dict[str, Any]:
        issued = meeting.issued.get(group, 0)
        return {
            "issued": issued,
            "slips_voided": voided[group],
            "handed_out": issued - voided[group],
            "unused": unused[group],
            "entries_voided": corrected[group],
            **counts[group],
        }

    return {group: row(group) for group in sorted(set(meeting.issued) | set(counts))}


def check_makeup(
    appraisee_ids: Collection[str],
    issued: Mapping[str, int],
    voided: Iterable["CastBallot"],
    earlier_makeups: Iterable[Meeting],
) -> None:
    """A make-up meeting re-ballots what upheld disputes voided, and no more: only the
    appraisees the voided ballots rate, only their groups, and per group at most as many
    rights (over every make-up meeting of the campaign) as ballots were voided in it. Its
    quorum is the original meeting's; `min_ballots` decides at scoring whether it is enough."""
    voided = list(voided)
    affected = frozenset().union(*(b.rated for b in voided))
    outside = sorted(set(appraisee_ids) - affected)
    if outside:
        raise RuleViolation(
            f"appraisee {outside[0]} lost no ballot to an upheld dispute: a make-up meeting "
            "re-ballots only the appraisees voided ballots rate",
            appraisee_id=outside[0],
        )
    room = Counter(b.group for b in voided)
    for meeting in earlier_makeups:
        room.subtract(meeting.issued)
    for group, count in sorted(issued.items()):
        if count > room[group]:
            raise RuleViolation(
                f"group {group}: a make-up meeting may issue {max(room[group], 0)} more "
                f"ballot right(s), as many as upheld disputes voided there, not {count}",
                group=group,
                allowed=max(room[group], 0),
                issued=count,
            )


def require_one_vote(
    actor_id: str,
    appraisees: frozenset[str],
    held: "BallotRight",
    meeting: Meeting,
    ballot: "CastBallot | None",
) -> None:
    """An evaluator votes once for an appraisee in a campaign: a named right `held` in
    another meeting bars a new one for that meeting's appraisees its ballot rates (all of
    them while unspent), unless it expired unused or an upheld dispute voided its ballot.
    A row for an appraisee outside its meeting bars nothing: it never counts for them."""
    if held.state == "expired" or (ballot is not None and ballot.voided is not None):
        return
    barred = meeting.appraisees if ballot is None else meeting.appraisees & ballot.rated
    shared = sorted(appraisees & barred)
    if shared:
        raise Conflict(
            f"evaluator {actor_id} already holds a ballot for appraisee {shared[0]} "
            f"in meeting {meeting.id}: nobody votes twice for the same appraisee",
            actor_id=actor_id,
            appraisee_id=shared[0],
            meeting_id=str(meeting.id),
        )


def parse_attendance(raw: Any) -> dict[str, tuple[int, int]]:
    """`balloting.open`'s `attendance`: group -> {"members": the body's size, "present":
    those at the meeting}, as (members, present); stored verbatim, checked here."""
    attendance = {}
    for code, entry in fields.obj(raw, "attendance").items():
        entry = fields.obj(entry, f"attendance.{code}")
        fields.only(entry, {"members", "present"})
        members = fields.integer(entry, "members", low=0, high=1_000_000)
        present = fields.integer(entry, "present", low=0, high=members)
        attendance[code] = (members, present)
    return attendance


def check_handed_out(meeting: Meeting, reconciliation: Mapping[str, Mapping[str, Any]]) -> None:
    """Present ≥ handed out, for every anonymous group whose attendance the meeting
    recorded: slips beyond those present must be voided (`credentials.void`) first."""
    anonymous = {g.code for g in parse_rules(meeting.rules).groups if g.anonymous}
    for code, (_, present) in sorted(parse_attendance(meeting.attendance).items()):
        handed_out = reconciliation.get(code, {}).get("handed_out", 0)
        if code in anonymous and handed_out > present:
            raise RuleViolation(
                f"group {code}: {handed_out} slips handed out but only {present} present; "
                "void the unused slips before closing",
                group=code,
                handed_out=handed_out,
                present=present,
            )


def parse_rows(raw: Any) -> tuple[Row, ...]:
    """Wire rows → domain rows; structural junk is malformed, not merely invalid."""
    if not isinstance(raw, list) or not raw:
        raise MalformedCommand("rows must be a non-empty list", field="rows")
    return tuple(_row(item, i) for i, item in enumerate(raw))


def _row(item: Any, index: int) -> Row:
    if not isinstance(item, Mapping):
        raise MalformedCommand(f"rows[{index}] must be an object", field="rows")
    unknown = set(item) - {"appraisee_id", "scores", "choice", "indicators", "abstain"}
    if unknown:
        raise MalformedCommand(f"rows[{index}]: unknown field(s) {', '.join(sorted(unknown))}")
    appraisee_id = item.get("appraisee_id")
    if not isinstance(appraisee_id, str) or not appraisee_id:
        raise MalformedCommand(f"rows[{index}].appraisee_id must be a non-empty string")
    present = [k for k in ("scores", "choice", "indicators", "abstain") if k in item]
    if len(present) != 1:
        raise MalformedCommand(
            f"rows[{index}] needs exactly one of scores, choice, indicators, abstain"
        )
    if "abstain" in item and item["abstain"] is not True:
        raise MalformedCommand(f"rows[{index}].abstain must be true when present")
    if "choice" in item and not isinstance(item["choice"], str):
        raise MalformedCommand(f"rows[{index}].choice must be a string")
    scores = item.get("scores")
    if scores is not None and (
        not isinstance(scores, Mapping)
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in scores.values())
    ):
        raise MalformedCommand(f"rows[{index}].scores must map dimensions to integers")
    indicators = item.get("indicators")
    if indicators is not None:
        if not isinstance(indicators, Mapping):
            raise MalformedCommand(f"rows[{index}].indicators must be an object")
        indicators = {k: _points(v, index) for k, v in indicators.items()}
    return Row(
        appraisee_id=appraisee_id,
        scores=scores,
        choice=item.get("choice"),
        indicators=indicators,
        abstain=bool(item.get("abstain", False)),
    )


def _points(value: Any, index: int) -> Fraction:
    try:
        return parse_decimal(value, f"/rows/{index}/indicators")
    except ValueError as exc:
        raise MalformedCommand(
            f"rows[{index}].indicators values must be integers or decimal strings"
        ) from exc
