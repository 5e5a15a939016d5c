"""Rectification plans (整改清单): items with deadlines, progress, follow-up checks
(回头看) and closure, so a problem is not "reported every year, fixed every year"."""

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain import fields
from domain.aggregate import EventSourced
from domain.envelope import parse_timestamp
from domain.errors import Conflict, MalformedCommand, NotFound, RuleViolation, WrongState

PLAN_ITEMS = 200  # items a rectification plan may list
ITEM_ID_LENGTH = 64


def parse_items(command: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The items of `rectification.create` as the plan records them (deadlines as ISO dates);
    the handler and the audit (`domain.provenance`) both read them here."""
    items = []
    for i, raw in enumerate(fields.items(command, "items", max_items=PLAN_ITEMS)):
        item = fields.obj(raw, f"items[{i}]")
        fields.only(item, {"item_id", "description", "deadline"}, {"measures", "responsible"})
        parsed = {
            "item_id": fields.text(item, "item_id", max_length=ITEM_ID_LENGTH),
            "description": fields.free_text(item, "description", max_length=fields.NOTE_LENGTH),
            "deadline": fields.calendar_date(item, "deadline"),
        }
        # 整改措施 and 责任人 (附件7) are optional, and recorded only when given, so plans
        # created before they existed derive the same events as they always did.
        if "measures" in item:
            parsed["measures"] = fields.free_text(item, "measures", max_length=fields.NOTE_LENGTH)
        if "responsible" in item:
            parsed["responsible"] = fields.text(item, "responsible")
        items.append(parsed)
    if not items or len({i["item_id"] for i in items}) != len(items):
        raise MalformedCommand("items must be non-empty with distinct item ids")
    return items


MISSING = "missing"  # no plan yet
OPEN = "open"
CLOSED = "closed"  # every plan closed: each item passed its follow-up check


def rectify_tracking(
    due: str | None, plans: Sequence[Mapping[str, Any]], today: date
) -> dict[str, Any]:
    """How a 限期整改 consequence stands, given the appraisee's plans in the campaign
    (`{plan_id, closed, overdue: [item ids]}`): missing, open or closed, and overdue
    when not closed and `today` is past its due date or a plan item's own deadline. Any
    plan for the appraisee answers it: one 整改清单 lists every problem to put right."""
    closed = bool(plans) and all(p["closed"] for p in plans)
    overdue_items = sorted(i for p in plans if not p["closed"] for i in p["overdue"])
    past_due = due is not None and date.fromisoformat(due) < today
    return {
        "status": CLOSED if closed else OPEN if plans else MISSING,
        "overdue": not closed and (past_due or bool(overdue_items)),
        "plans": [p["plan_id"] for p in plans],
        "overdue_items": overdue_items,
    }


def reported_on(command: Mapping[str, Any]) -> str:
    """The day a progress report or follow-up check is recorded for: the signed `issued_at`'s
    UTC date, so an auditor derives the same day."""
    return parse_timestamp(command["issued_at"]).date().isoformat()


class RectificationPlan(EventSourced):
    @event("Created")
    def __init__(
        self,
        id: UUID,
        campaign_id: str,
        appraisee_id: str,
        items: list[dict[str, Any]],
        envelope: dict[str, Any],
    ) -> None:
        self.campaign_id = campaign_id
        self.appraisee_id = appraisee_id
        self.items = {
            item["item_id"]: {**item, "status": "open", "progress": [], "checks": []}
            for item in items
        }
        self.closed = False

    def item(self, item_id: str) -> dict[str, Any]:
        if item_id not in self.items:
            raise NotFound(f"no item {item_id} in this plan")
        if self.closed:
            raise WrongState("the plan is closed")
        return self.items[item_id]

    def report_progress(
        self, item_id: str, note: str, done: bool, on: str, envelope: dict[str, Any]
    ) -> None:
        if self.item(item_id)["status"] == "verified":
            raise WrongState("the item has already passed its follow-up check")
        self._progress(item_id, note, done, on, envelope)

    @event("ProgressReported")
    def _progress(
        self, item_id: str, note: str, done: bool, on: str, envelope: dict[str, Any]
    ) -> None:
        item = self.items[item_id]
        item["progress"].append({"note": note, "done": done, "on": on})
        item["status"] = "done" if done else "in_progress"

    def check(
        self, item_id: str, passed: bool, note: str, on: str, envelope: dict[str, Any]
    ) -> None:
        if self.item(item_id)["status"] != "done":
            raise WrongState("a follow-up check needs the item reported done first")
        self._check(item_id, passed, note, on, envelope)

    @event("FollowUpChecked")
    def _check(
        self, item_id: str, passed: bool, note: str, on: str, envelope: dict[str, Any]
    ) -> None:
        item = self.items[item_id]
        item["checks"].append({"passed": passed, "note": note, "on": on})
        item["status"] = "verified" if passed else "in_progress"

    def close(self, envelope: dict[str, Any]) -> None:
        if self.closed:
            raise Conflict("the plan is already closed")
        unverified = sorted(i for i, v in self.items.items() if v["status"] != "verified")
        if unverified:
            raise RuleViolation(f"item {unverified[0]} has not passed a follow-up check")
        self._close(envelope)

    @event("Closed")
    def _close(self, envelope: dict[str, Any]) -> None:
        self.closed = True

    def overdue(self, today: date) -> list[str]:
        """Items past their deadline and not yet verified by a follow-up check."""
        return sorted(
            item_id
            for item_id, item in self.items.items()
            if item["status"] != "verified" and date.fromisoformat(item["deadline"]) < today
        )
