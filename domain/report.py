"""Debriefing reports (述职报告): submitted by the cadre, returned with comments or
accepted by the organisers, within the rules' length limits."""

import uuid
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import RuleViolation, WrongState
from domain.registry import NAMESPACE
from domain.rules import Rules


def report_id(campaign_id: str, appraisee_id: str) -> UUID:
    return uuid.uuid5(NAMESPACE, f"report:{campaign_id}:{appraisee_id}")


def check_report(rules: Rules, category: str, parts: list[dict[str, str]]) -> None:
    """Length limits and required parts (e.g. a secretary's two-part report)."""
    limits = rules.reports
    text = "".join(p["text"] for p in parts)
    if limits.max_chars is not None and len(text) > limits.max_chars:
        raise RuleViolation(
            f"the report has {len(text)} characters; the rules allow {limits.max_chars}"
        )
    if limits.max_words is not None and len(text.split()) > limits.max_words:
        raise RuleViolation(f"the report exceeds {limits.max_words} words")
    required = [p.code for p in limits.parts if not p.categories or category in p.categories]
    given = [p["code"] for p in parts]
    missing = [code for code in required if code not in given]
    if missing:
        raise RuleViolation(f"the report lacks the part(s): {', '.join(missing)}")
    if len(set(given)) != len(given):
        raise RuleViolation("a report part appears twice")


class Report(Aggregate):
    @event("Submitted")
    def __init__(
        self,
        id: UUID,
        campaign_id: str,
        appraisee_id: str,
        parts: list[dict[str, str]],
        envelope: dict[str, Any],
    ) -> None:
        self.campaign_id = campaign_id
        self.appraisee_id = appraisee_id
        self.parts = parts
        self.status = "submitted"
        self.comments: list[str] = []

    def resubmit(self, parts: list[dict[str, str]], envelope: dict[str, Any]) -> None:
        if self.status != "returned":
            raise WrongState(f"the report is {self.status}; only a returned report is resubmitted")
        self._resubmit(parts, envelope)

    @event("Resubmitted")
    def _resubmit(self, parts: list[dict[str, str]], envelope: dict[str, Any]) -> None:
        self.parts = parts
        self.status = "submitted"

    def review(self, accepted: bool, comments: str, envelope: dict[str, Any]) -> None:
        if self.status != "submitted":
            raise WrongState(f"the report is {self.status}, not awaiting review")
        if not accepted and not comments.strip():
            raise RuleViolation("a returned report needs comments")
        self._review(accepted, comments, envelope)

    @event("Reviewed")
    def _review(self, accepted: bool, comments: str, envelope: dict[str, Any]) -> None:
        self.status = "accepted" if accepted else "returned"
        if comments:
            self.comments.append(comments)
