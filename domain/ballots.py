"""Ballots and their validity (DESIGN §4 outcome taxonomy).

Two kinds of fault, handled differently:

* **Malformed** — the ballot cannot be read as a ballot of its group at all: an
  unknown group, no rows, a row that is not exactly one of scores / choice /
  indicators / abstain, or a row whose form is not the group's form (a choice in
  a ``dimension_scores`` group).  :func:`check_ballot_shape` raises RuleViolation
  and the command is refused at the door; nothing is written.
* **Invalid** — the ballot is readable but breaks a rule a paper ballot can break
  too: an appraisee its meeting did not appraise, the same appraisee twice, an unknown or
  missing dimension / indicator, an unknown choice, a score that is not an
  integer or lies outside 0…scale, points outside 0…the indicator's points, or
  too large a share of one choice (``ballot_validity.max_choice_share``).  Such a
  ballot is accepted and recorded, counted as cast-invalid with a reason code,
  and left out of scoring.  Reason codes are ``<kind>:<subject>``, e.g.
  ``excess_choice_share:excellent`` or ``unknown_appraisee:a-17``; the first
  fault in row order is reported.

Validity is judged once, here, against the appraisees of the ballot's *meeting*
(``Ballot.appraisees``), not the campaign's roster: casting, closing, scoring (and so
explanations, forms and the audit, which re-derive through scoring) all call
:func:`validate_ballot`, so a ballot stored invalid can never be counted.

A **voided** ballot (``Ballot.voided`` = the upheld dispute's reason) keeps its
cast-time classification: :func:`tally` counts cast = valid + invalid always,
``voided`` separately, and ``counted`` = valid ballots not voided — the only
ones scoring uses.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from domain.errors import RuleViolation
from domain.rules import DIMENSION_SCORES, GRADE_CHOICE, INDICATOR_SCORES, Group, Rules


@dataclass(frozen=True, slots=True)
class Row:
    """One appraisee's line on a ballot: exactly one of scores, choice, indicators, abstain."""

    appraisee_id: str
    scores: Mapping[str, int] | None = None
    choice: str | None = None
    indicators: Mapping[str, Fraction] | None = None
    abstain: bool = False


@dataclass(frozen=True, slots=True)
class Ballot:
    ballot_id: str
    group: str
    rows: tuple[Row, ...]
    voided: str | None = None  # the upheld dispute's reason, once voided
    signer: str = ""  # key id of the evaluator or one-time credential, for explanations
    position: int | None = None  # ledger index of the ballot's event, for explanations
    # the appraisees of the ballot's meeting, the only ones its rows may name (None: the
    # caller's roster, for a campaign whose one meeting appraises everyone)
    appraisees: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class BallotValidity:
    valid: bool
    reason: str | None = None


_FIELD_OF_FORM = {
    DIMENSION_SCORES: "scores",
    GRADE_CHOICE: "choice",
    INDICATOR_SCORES: "indicators",
}


def check_ballot_shape(rules: Rules, group: str, rows: Sequence[Row]) -> None:
    """Refuse (RuleViolation) a ballot that cannot be read as a ballot of ``group``."""
    form = rules.group(group).form
    expected = _FIELD_OF_FORM[form]
    if not rows:
        raise RuleViolation("a ballot needs at least one row", group=group)
    for i, row in enumerate(rows):
        if not isinstance(row.appraisee_id, str) or not row.appraisee_id:
            raise RuleViolation(f"row {i}: appraisee_id must be a non-empty string", row=i)
        given = [
            name
            for name, present in (
                ("scores", row.scores is not None),
                ("choice", row.choice is not None),
                ("indicators", row.indicators is not None),
                ("abstain", row.abstain is not False),
            )
            if present
        ]
        if len(given) != 1:
            raise RuleViolation(
                f"row {i}: give exactly one of {expected} or abstain, not {given or 'neither'}",
                row=i,
            )
        if given == ["abstain"]:
            if row.abstain is not True:
                raise RuleViolation(f"row {i}: abstain must be true", row=i)
            continue
        if given != [expected]:
            raise RuleViolation(
                f"row {i}: group {group!r} uses {form}, so rows carry {expected}, not {given[0]}",
                row=i,
                group=group,
            )
        value = getattr(row, expected)
        wanted_type = str if expected == "choice" else Mapping
        if not isinstance(value, wanted_type) or (
            isinstance(value, Mapping) and not all(isinstance(k, str) for k in value)
        ):
            raise RuleViolation(f"row {i}: {expected} has the wrong type", row=i)


def validate_ballot(rules: Rules, ballot: Ballot, roster_ids: Collection[str]) -> BallotValidity:
    """Classify a well-formed ballot as valid or invalid (raises RuleViolation if malformed).

    Rows may name only the appraisees of the ballot's meeting: ``ballot.appraisees``, or
    ``roster_ids`` when the ballot does not carry them.
    """
    check_ballot_shape(rules, ballot.group, ballot.rows)
    group = rules.group(ballot.group)
    appraised = roster_ids if ballot.appraisees is None else ballot.appraisees
    seen: set[str] = set()
    for row in ballot.rows:
        if row.appraisee_id not in appraised:
            return BallotValidity(False, f"unknown_appraisee:{row.appraisee_id}")
        if row.appraisee_id in seen:
            return BallotValidity(False, f"duplicate_row:{row.appraisee_id}")
        seen.add(row.appraisee_id)
        if not row.abstain:
            reason = _row_fault(rules, group, row)
            if reason is not None:
                return BallotValidity(False, reason)
    reason = _excess_choice(rules, group, ballot.rows)
    return BallotValidity(reason is None, reason)


def tally(
    rules: Rules, ballots: Sequence[Ballot], roster_ids: Collection[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Reconciliation counts per group (see the module docstring for the identities).

    Without ``roster_ids`` every appraisee named on a ballot counts as on the roster.
    """
    if roster_ids is None:
        roster_ids = {row.appraisee_id for b in ballots for row in b.rows}
    counts = Tally(rules)
    for ballot in ballots:
        counts.add(ballot, validate_ballot(rules, ballot, roster_ids))
    return counts.counts()


class Tally:
    """`tally`, one ballot at a time: scoring counts each ballot as it reads it, so a
    campaign's ballots need not all be in memory at once."""

    def __init__(self, rules: Rules) -> None:
        self._counts = {
            g.code: {
                "cast": 0,
                "valid": 0,
                "invalid": 0,
                "voided": 0,
                "counted": 0,
                "abstentions": 0,
            }
            for g in rules.groups
        }
        self._reasons: dict[str, Counter[str]] = {g.code: Counter() for g in rules.groups}
        self._seen: set[str] = set()

    def add(self, ballot: Ballot, validity: BallotValidity) -> None:
        """Count a ballot, classified (`validate_ballot`) against the same roster."""
        if ballot.ballot_id in self._seen:
            raise RuleViolation(f"duplicate ballot id {ballot.ballot_id!r}")
        self._seen.add(ballot.ballot_id)
        c = self._counts[ballot.group]
        c["cast"] += 1
        if validity.valid:
            c["valid"] += 1
        else:
            c["invalid"] += 1
            self._reasons[ballot.group][validity.reason or ""] += 1
        if ballot.voided is not None:
            c["voided"] += 1
        elif validity.valid:
            c["counted"] += 1
            c["abstentions"] += sum(1 for row in ballot.rows if row.abstain)

    def counts(self) -> dict[str, dict[str, Any]]:
        return {
            code: {
                **self._counts[code],
                "invalid_reasons": dict(sorted(self._reasons[code].items())),
            }
            for code in sorted(self._counts)
        }


def _row_fault(rules: Rules, group: Group, row: Row) -> str | None:
    """The first rule a non-abstaining row breaks, as a reason code, or None."""
    if group.form == GRADE_CHOICE:
        return None if rules.choice(row.choice or "") else f"unknown_choice:{row.choice}"
    if group.form == DIMENSION_SCORES:
        return _mapping_fault(
            row.scores or {},
            {d.code: Fraction(rules.scale) for d in rules.dimensions},
            "dimension",
            "score",
            integers_only=True,
        )
    return _mapping_fault(
        row.indicators or {},
        {i.code: i.points for i in group.indicators},
        "indicator",
        "points",
        integers_only=False,
    )


def _mapping_fault(
    given: Mapping[str, Any],
    limits: Mapping[str, Fraction],
    noun: str,
    value_noun: str,
    integers_only: bool,
) -> str | None:
    for code in sorted(given):
        if code not in limits:
            return f"unknown_{noun}:{code}"
    for code, limit in limits.items():
        if code not in given:
            return f"missing_{noun}:{code}"
        value = given[code]
        exact_types = (int,) if integers_only else (int, Fraction)
        if isinstance(value, bool) or not isinstance(value, exact_types):
            kind = "not_integer" if integers_only else "not_exact"
            return f"{value_noun}_{kind}:{code}"
        if not 0 <= value <= limit:
            return f"{value_noun}_out_of_range:{code}"
    return None


def choice_caps(rules: Rules, group: Group, marked: int) -> dict[str, int]:
    """The most rows of a ballot with ``marked`` non-abstaining rows each capped choice may
    take (``ballot_validity.max_choice_share``): floor(share × marked); none outside its
    groups. The one statement of the share rule; the ballot page shows it to the voter."""
    if group.code not in rules.ballot_validity.groups:
        return {}
    return {
        code: math.floor(share * marked)
        for code, share in sorted(rules.ballot_validity.max_choice_share.items())
    }


def _excess_choice(rules: Rules, group: Group, rows: Sequence[Row]) -> str | None:
    """Too many of a ballot's non-abstaining rows pick one choice (e.g. 优秀 > 30 %)."""
    marked = [row.choice for row in rows if not row.abstain]
    for code, cap in choice_caps(rules, group, len(marked)).items():
        if marked.count(code) > cap:
            return f"excess_choice_share:{code}"
    return None
