"""From one stored event to row changes in the view tables.

Campaigns, reports and rectification plans are written from their aggregate's
state after the event, computed by the domain's own mutators, so the read side
never re-implements a state transition (an upheld dispute withdrawing the
proposal, a review appending a comment…). The worker keeps recently touched
aggregates in memory and otherwise replays them from the store up to the
version before the event. Meetings, ballots and actors need nothing but the
event itself.

Handlers only write rows derived from events and their ledger positions — never
a clock, never anything of the process — so replaying from zero gives the same rows.
"""

import base64
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from domain.balloting import CastBallot, Meeting
from domain.campaign import Campaign
from domain.rectification import RectificationPlan
from domain.registry import Actor
from domain.report import Report
from domain.rules import parse_rules
from projections.schema import Tx, dumps
from service.application import AppraisalApplication


@dataclass(frozen=True)
class Applied:
    """An event being applied, where it sits in the ledger, and (for stateful
    handlers) its aggregate's state after it."""

    event: Any
    name: str
    index: int
    leaf_hash: str
    state: Any = None

    @property
    def id(self) -> str:
        return str(self.event.originator_id)


@dataclass(frozen=True)
class Handler:
    write: Callable[[Tx, Applied], None]
    replays: bool  # whether `write` needs the aggregate's state after the event


HANDLERS: dict[str, Handler] = {}


def handles(aggregate: type[Aggregate], *, replays: bool) -> Callable[..., Any]:
    def register(write: Callable[[Tx, Applied], None]) -> Callable[[Tx, Applied], None]:
        HANDLERS[get_topic(aggregate)] = Handler(write, replays)
        return write

    return register


class Projector:
    """Applies events in notification order; not thread-safe (one per worker)."""

    def __init__(self, app: AppraisalApplication, cache_size: int = 10_000) -> None:
        self.app = app
        self.cache_size = cache_size
        self._states: OrderedDict[UUID, Aggregate] = OrderedDict()

    def apply(self, tx: Tx, row: Mapping[str, Any]) -> None:
        owner, _, name = row["topic"].rpartition(".")
        handler = HANDLERS.get(owner)
        if handler is None:
            return
        stream = row["originator_id"]
        stored = StoredEvent(
            originator_id=stream if isinstance(stream, UUID) else UUID(stream),
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=bytes(row["state"]),
        )
        event = self.app.mapper.to_domain_event(stored)
        applied = Applied(
            event=event,
            name=name,
            index=row["leaf_index"],
            leaf_hash=base64.b64encode(bytes(row["leaf_hash"])).decode("ascii"),
            state=self._advance(event) if handler.replays else None,
        )
        handler.write(tx, applied)

    def forget(self) -> None:
        """Drop cached states, e.g. when the transaction that advanced them rolled back."""
        self._states.clear()

    def _advance(self, event: Any) -> Aggregate:
        stream, version = event.originator_id, event.originator_version
        state = self._states.pop(stream, None)
        if version == 1:
            state = None
        elif state is None or state.version != version - 1:
            state = self.app.at_version(stream, version - 1)
        state = event.mutate(state)
        self._states[stream] = state
        if len(self._states) > self.cache_size:
            self._states.popitem(last=False)
        return state


# --- campaigns, results and disputes ----------------------------------------------------

# (the publication dates the consequences' time limits)
RESULT_EVENTS = frozenset(
    {
        "ResultsProposed",
        "ApprovalSigned",
        "DisputeResolved",
        "AssessmentRecorded",
        "ResultsPublished",
    }
)


def group_rules(rules_document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What the read side needs of each evaluator group, e.g. its anonymity floor."""
    return [
        {
            "code": g.code,
            "label": g.label,
            "weight": f"{g.weight.numerator}/{g.weight.denominator}",
            "anonymous": g.anonymous,
            "min_ballots": g.min_ballots,
            "anonymity_floor": g.anonymity_floor,
        }
        for g in parse_rules(rules_document).groups
    ]


@handles(Campaign, replays=True)
def _campaign(tx: Tx, e: Applied) -> None:
    campaign: Campaign = e.state
    row: dict[str, Any] = {
        "campaign_id": e.id,
        "title": campaign.title,
        "year": campaign.year,
        "status": campaign.status,
        "details": dumps(campaign.details),
        "appraisees": len(campaign.appraisees),
        "proposal_hash": None if campaign.proposal is None else campaign.proposal["hash"],
        "window_ends": campaign.window_ends,
        "published_on": campaign.published_on,
        "interviews": dumps(campaign.interviews),
        "updated_position": e.index,
    }
    if e.name in ("Created", "Amended"):
        row["group_rules"] = dumps(group_rules(campaign.rules_document))
        _labels(tx, e.id, campaign)
    if e.name == "AppraiseesAdded":
        _roster(tx, e.id, campaign, len(e.event.appraisees))
    if e.name == "Created":
        row["created_position"] = e.index
    if e.name == "ResultsProposed" and campaign.proposal is not None:
        row["proposal_position"] = e.index
        row["proposal_checkpoint"] = dumps(campaign.proposal["checkpoint"])
    if campaign.proposal is None:
        row["proposal_position"] = row["proposal_checkpoint"] = None
    if e.name == "ApprovalSigned" and e.event.complete:
        row["approval_position"] = e.index
    if campaign.approved is None:
        row["approval_position"] = None
    tx.upsert("campaigns", row)
    if e.name in RESULT_EVENTS:
        _results(tx, e.id, campaign)
    if e.name in ("DisputeLodged", "DisputeResolved"):
        _dispute(tx, e, campaign)


def _labels(tx: Tx, campaign_id: str, campaign: Campaign) -> None:
    """The rules' label for each code (rules can change while the campaign is a draft)."""
    tx.delete("labels", {"campaign_id": campaign_id})
    for kind, labels in campaign.rules.labels().items():
        for code, label in labels.items():
            row = {"campaign_id": campaign_id, "kind": kind, "code": code, "label": label}
            tx.upsert("labels", row)


def _roster(tx: Tx, campaign_id: str, campaign: Campaign, added: int) -> None:
    """Who is appraised, in roster order: names, positions and units beside the ids, of
    the `added` appraisees at the roster's end (rewriting the whole roster at each
    addition made a roster added in batches quadratic)."""
    entries = list(campaign.appraisees.values())
    first = len(entries) - added
    for seq, entry in enumerate(entries[first:], start=first):
        tx.upsert(
            "roster",
            {
                "campaign_id": campaign_id,
                "appraisee_id": entry["appraisee_id"],
                "seq": seq,
                **{k: entry[k] for k in ("name", "position", "unit", "category")},
            },
        )


def _results(tx: Tx, campaign_id: str, campaign: Campaign) -> None:
    """The current proposal's results with the approved adjustments, or none when
    there is no current proposal (an upheld dispute or new assessment withdrew it)."""
    tx.delete("results", {"campaign_id": campaign_id})
    for seq, approved in enumerate(campaign.results_as_approved()):
        result = approved.approved
        tx.upsert(
            "results",
            {
                "campaign_id": campaign_id,
                "appraisee_id": approved.appraisee_id,
                "seq": seq,
                "category": result["category"],
                "status": result["status"],
                "score": result["score"],
                "score_exact": result["score_exact"],
                "rank": result["rank"],
                "grade": approved.grade,
                "computed_grade": approved.computed_grade,
                "adjustment_grade": None if approved.adjustment is None else approved.grade,
                "adjustment_reason": approved.adjustment_reason,
                "flags": dumps(result["flags"]),
                "notes": dumps(result["notes"]),
                "consequences": dumps(approved.consequences),
                "group_scores": dumps(
                    {
                        code: {k: group[k] for k in ("ballots", "score", "score_exact", "missing")}
                        for code, group in result["groups"].items()
                    }
                ),
            },
        )


def _dispute(tx: Tx, e: Applied, campaign: Campaign) -> None:
    dispute = campaign.disputes[e.event.dispute_id]
    row = {
        "dispute_id": e.event.dispute_id,
        "campaign_id": e.id,
        "appraisee_id": dispute["appraisee_id"],
        "grounds": dispute["grounds"],
        "lodged_by": dispute["lodged_by"],
        "status": dispute["status"],
        "reason": dispute.get("reason"),
        "voided": dumps(dispute.get("voided", [])),
    }
    position = "lodged_position" if e.name == "DisputeLodged" else "resolved_position"
    tx.upsert("disputes", {**row, position: e.index})


# --- meetings, reconciliation and ballots ------------------------------------------------

COUNTS = (
    "issued",
    "slips_voided",
    "handed_out",
    "unused",
    "entries_voided",
    "cast",
    "valid",
    "invalid",
    "voided",
    "counted",
    "abstentions",
)


@handles(Meeting, replays=False)
def _meeting(tx: Tx, e: Applied) -> None:
    if e.name == "Opened":
        rules = parse_rules(e.event.rules)
        issued = e.event.issued
        tx.upsert(
            "meetings",
            {
                "meeting_id": e.id,
                "campaign_id": e.event.campaign_id,
                "status": "open",
                "issued": dumps(issued),
                "anonymous": dumps({g.code: g.anonymous for g in rules.groups}),
                "appraisees": len(e.event.appraisee_ids),
                "opened_position": e.index,
            },
        )
        for group in sorted(set(issued) | {g.code for g in rules.groups}):
            counts = dict.fromkeys(COUNTS, 0) | {"issued": issued.get(group, 0)}
            counts["unused"] = counts["handed_out"] = counts["issued"]
            tx.upsert(
                "reconciliation",
                {
                    "meeting_id": e.id,
                    "group_code": group,
                    "campaign_id": e.event.campaign_id,
                    **{f"n_{name}": value for name, value in counts.items()},
                    "invalid_reasons": dumps({}),
                },
            )
    elif e.name == "SlipsVoided":
        for group, n in e.event.voided.items():
            key = {"meeting_id": e.id, "group_code": group}
            tx.add("reconciliation", key, {"n_slips_voided": n, "n_handed_out": -n, "n_unused": -n})
    elif e.name == "Closed":
        tx.update(
            "meetings",
            {"meeting_id": e.id},
            {
                "status": "closed",
                "closed_position": e.index,
                "checkpoint": dumps(e.event.checkpoint),
                "recorded": dumps(e.event.reconciliation),
            },
        )


@handles(CastBallot, replays=False)
def _ballot(tx: Tx, e: Applied) -> None:
    if e.name == "Cast":
        _cast(tx, e)
    elif e.name == "Voided":
        _void(tx, e)
    elif e.name == "EntryVoided":
        _void_entry(tx, e)


def _cast(tx: Tx, e: Applied) -> None:
    event = e.event
    groups = tx.remembered(
        ("anonymous", event.meeting_id), lambda: _anonymous(tx, event.meeting_id)
    )
    anonymous = groups is None or bool(groups.get(event.group, True))
    command = event.envelope["command"]  # the signed copy, as the tally reads it
    abstentions = sum(1 for row in command["rows"] if row.get("abstain") is True)
    paper_serial = command.get("paper_serial")
    tx.upsert(
        "ballots",
        {
            "ballot_id": e.id,
            "campaign_id": event.campaign_id,
            "meeting_id": event.meeting_id,
            "group_code": event.group,
            "anonymous": int(anonymous),
            "signer": None if anonymous or paper_serial else event.envelope["signer"],
            "paper_serial": paper_serial,
            "teller": event.envelope["signer"] if paper_serial else None,
            "ledger_index": e.index,
            "leaf_hash": e.leaf_hash,
            "valid": int(event.valid),
            "invalid_reason": event.reason,
            "abstentions": abstentions,
        },
    )
    key = {"meeting_id": event.meeting_id, "group_code": event.group}
    if event.valid:
        deltas = {"n_cast": 1, "n_unused": -1, "n_valid": 1, "n_counted": 1}
        tx.add("reconciliation", key, deltas | {"n_abstentions": abstentions})
        return
    tx.add("reconciliation", key, {"n_cast": 1, "n_unused": -1, "n_invalid": 1})
    found = tx.one(
        "SELECT invalid_reasons FROM {reconciliation} WHERE meeting_id = ? AND group_code = ?",
        *key.values(),
    )
    reasons = json.loads(found["invalid_reasons"]) if found else {}
    reasons[event.reason] = reasons.get(event.reason, 0) + 1
    tx.update("reconciliation", key, {"invalid_reasons": dumps(reasons)})


def _anonymous(tx: Tx, meeting_id: str) -> dict[str, bool] | None:
    """A meeting's groups -> whether each is anonymous, as its opening recorded them."""
    meeting = tx.one("SELECT anonymous FROM {meetings} WHERE meeting_id = ?", meeting_id)
    return None if meeting is None else json.loads(meeting["anonymous"])


def _void_entry(tx: Tx, e: Applied) -> None:
    """A teller's own void: the entry leaves cast (and valid or invalid), its slip is
    unused again until entered once more."""
    ballot = tx.one(
        "SELECT meeting_id, group_code, valid, invalid_reason, abstentions FROM {ballots} "
        "WHERE ballot_id = ?",
        e.id,
    )
    tx.update(
        "ballots",
        {"ballot_id": e.id},
        {"voided_reason": e.event.reason, "voided_position": e.index},
    )
    if ballot is None:
        return
    key = {"meeting_id": ballot["meeting_id"], "group_code": ballot["group_code"]}
    deltas = {"n_entries_voided": 1, "n_cast": -1, "n_unused": 1}
    if ballot["valid"]:
        deltas |= {"n_valid": -1, "n_counted": -1, "n_abstentions": -ballot["abstentions"]}
        tx.add("reconciliation", key, deltas)
        return
    tx.add("reconciliation", key, deltas | {"n_invalid": -1})
    found = tx.one(
        "SELECT invalid_reasons FROM {reconciliation} WHERE meeting_id = ? AND group_code = ?",
        *key.values(),
    )
    reasons = json.loads(found["invalid_reasons"]) if found else {}
    reasons[ballot["invalid_reason"]] -= 1
    reasons = {k: v for k, v in reasons.items() if v}
    tx.update("reconciliation", key, {"invalid_reasons": dumps(reasons)})


def _void(tx: Tx, e: Applied) -> None:
    ballot = tx.one(
        "SELECT meeting_id, group_code, valid, abstentions FROM {ballots} WHERE ballot_id = ?",
        e.id,
    )
    tx.update(
        "ballots",
        {"ballot_id": e.id},
        {
            "voided_reason": e.event.reason,
            "voided_dispute": e.event.dispute_id,
            "voided_position": e.index,
        },
    )
    if ballot is None:
        return
    deltas = {"n_voided": 1}
    if ballot["valid"]:
        deltas |= {"n_counted": -1, "n_abstentions": -ballot["abstentions"]}
    key = {"meeting_id": ballot["meeting_id"], "group_code": ballot["group_code"]}
    tx.add("reconciliation", key, deltas)


# --- reports, rectification, actors --------------------------------------------------------


@handles(Report, replays=True)
def _report(tx: Tx, e: Applied) -> None:
    report: Report = e.state
    row = {
        "report_id": e.id,
        "campaign_id": report.campaign_id,
        "appraisee_id": report.appraisee_id,
        "status": report.status,
        "parts": dumps(report.parts),
        "comments": dumps(report.comments),
        "updated_position": e.index,
    }
    if e.name == "Submitted":
        row["submitted_position"] = e.index
    tx.upsert("reports", row)


@handles(RectificationPlan, replays=True)
def _plan(tx: Tx, e: Applied) -> None:
    plan: RectificationPlan = e.state
    row = {
        "plan_id": e.id,
        "campaign_id": plan.campaign_id,
        "appraisee_id": plan.appraisee_id,
        "closed": int(plan.closed),
        "updated_position": e.index,
    }
    if e.name == "Created":
        row["created_position"] = e.index
    tx.upsert("plans", row)
    for seq, (item_id, item) in enumerate(plan.items.items()):
        tx.upsert(
            "plan_items",
            {
                "plan_id": e.id,
                "item_id": item_id,
                "seq": seq,
                "description": item["description"],
                "measures": item.get("measures"),
                "responsible": item.get("responsible"),
                "deadline": item["deadline"],
                "status": item["status"],
                "progress": dumps(item["progress"]),
                "checks": dumps(item["checks"]),
            },
        )


@handles(Actor, replays=False)
def _actor(tx: Tx, e: Applied) -> None:
    event = e.event
    if e.name == "Registered":
        tx.upsert(
            "actors",
            {
                "actor_id": e.id,
                "name": event.name,
                "roles": dumps(sorted(event.roles)),
                "registered_position": e.index,
                "updated_position": e.index,
            },
        )
    else:
        tx.update("actors", {"actor_id": e.id}, {"updated_position": e.index})
    if e.name in ("Registered", "KeyAdded"):
        tx.upsert(
            "keys",
            {
                "key_id": event.key_id,
                "actor_id": e.id,
                "public_key": event.public_key,
                "revoked": 0,
                "added_position": e.index,
            },
        )
    elif e.name == "KeyRevoked":
        tx.update("keys", {"key_id": event.key_id}, {"revoked": 1, "revoked_position": e.index})
    elif e.name == "RolesChanged":
        tx.update("actors", {"actor_id": e.id}, {"roles": dumps(sorted(event.roles))})
