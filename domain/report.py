"""Debriefing reports (述职报告): submitted by the cadre, returned with comments or
accepted by the organisers, within the rules' length limits.

How length is counted (docs/RULES.md, ``reports``): ``max_chars`` counts every character
but whitespace, so line breaks and indentation cost nothing; ``max_words`` counts words
as a word processor's 字数 does — each CJK character (Han, kana, Hangul) is one word,
and so is each run of other letters and digits (``2021年`` is two words, ``don't`` too);
spaces and punctuation only separate words. A limit in 字 (seed 000: about 1,000) is
thus a ``max_words``; split on spaces, 3,000 Chinese characters were one word.
"""

import re
import uuid
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain import fields
from domain.aggregate import EventSourced
from domain.errors import MalformedCommand, RuleViolation, WrongState
from domain.registry import NAMESPACE
from domain.rules import Rules


def report_id(campaign_id: str, appraisee_id: str) -> UUID:
    return uuid.uuid5(NAMESPACE, f"report:{campaign_id}:{appraisee_id}")


_CJK = (
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han: extension A, unified, compatibility
    "\uac00-\ud7af"  # Hangul syllables
    "\U00020000-\U0003134f"  # Han: extensions B to H
)
_WORD = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+")


def count_chars(text: str) -> int:
    """Characters as ``max_chars`` counts them: every one but whitespace."""
    return sum(1 for ch in text if not ch.isspace())


def count_words(text: str) -> int:
    """Words as ``max_words`` counts them: each CJK character, and each run of other letters
    and digits; spaces and punctuation ("，", "—") only separate words."""
    return len(_WORD.findall(text))


def parse_parts(command: Mapping[str, Any]) -> list[dict[str, str]]:
    """The parts of `report.submit` as the report keeps them."""
    parts = []
    for i, raw in enumerate(fields.items(command, "parts", max_items=10)):
        part = fields.obj(raw, f"parts[{i}]")
        fields.only(part, {"code", "text"})
        parts.append(
            {
                "code": fields.text(part, "code"),
                "text": fields.free_text(part, "text", max_length=100_000),
            }
        )
    if not parts:
        raise MalformedCommand("a report needs at least one part")
    return parts


def check_report(rules: Rules, category: str, parts: list[dict[str, str]]) -> None:
    """Length limits and required parts (e.g. a secretary's two-part report)."""
    limits = rules.reports
    text = "\n".join(p["text"] for p in parts)
    chars = count_chars(text)
    if limits.max_chars is not None and chars > limits.max_chars:
        raise RuleViolation(
            f"the report has {chars} characters; the rules allow {limits.max_chars}",
            max_chars=limits.max_chars,
            counted=chars,
        )
    words = count_words(text)
    if limits.max_words is not None and words > limits.max_words:
        raise RuleViolation(
            f"the report has {words} words (each CJK character one); the rules allow "
            f"{limits.max_words}",
            max_words=limits.max_words,
            counted=words,
        )
    required = [p.code for p in limits.parts if not p.categories or category in p.categories]
    given = [p["code"] for p in parts]
    missing = [code for code in required if code not in given]
    if missing:
        raise RuleViolation(f"the report lacks the part(s): {', '.join(missing)}")
    if len(set(given)) != len(given):
        raise RuleViolation("a report part appears twice")


class Report(EventSourced):
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
