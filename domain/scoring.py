"""Scoring and grading (DESIGN §5 steps 1–7), exact end to end, with its explanation.

Everything is :class:`fractions.Fraction`; nothing is rounded except the display
string.  The result depends only on the *sets* of appraisees and ballots, never on
their order: ballots are processed by ballot id and every list in the outcome is
sorted, so :meth:`Outcome.to_dict` is canonical and can be hashed as the proposal.

Decisions this module makes where DESIGN leaves room:

* Row scores: ``dimension_scores`` Σ weight × score; ``grade_choice`` the choice's
  score; ``indicator_scores`` Σ awarded × scale / Σ points.  Abstentions and rows
  of invalid or voided ballots are left out and listed with their reason
  (``abstain``, ``invalid:<code>``, ``voided:<dispute reason>``).
* ``GroupResult.ballots`` counts the scored rows *before* trimming; that is the
  number compared with ``min_ballots`` and ``trim_min_ballots``.  Among equal
  scores, the rows trimmed from the low end are those with the smallest ballot
  ids and from the high end those with the largest; the mean is the same either
  way, only the explanation needs the choice to be fixed.
* A missing group is flagged ``missing_group:<code>``.  Under ``block`` the
  appraisee is ``incomplete`` (no score, rank or grade); under ``renormalize`` the
  present weights are rescaled to sum to 1 and ``renormalized`` is flagged too —
  and if every group is missing the appraisee is ``incomplete`` as well.
* Ranking is competition ranking (1, 1, 3).  In a ``group:<code>`` tie-break a
  missing group sorts below every present score.
* Quotas: floor(max_share × N) where N counts *all* appraisees of the category,
  incomplete ones included — the seeds state quotas of the people appraised.
  Grades go in rank order; when the boundary falls strictly inside a tie, nobody
  in the tie gets the grade, everyone in it is flagged ``quota_tie`` and lower
  ranks are not considered for that grade either (they would otherwise overtake
  the tie).  The last grade takes every complete appraisee left.
* Step 6: a linked rule caps a grade that is better than its ``cap_grade`` when
  the appraisee's assessment value is not allowed — an assessment not recorded
  counts as not allowed — and flags ``linked_rule:<code>``.  With ``freed_place:
  left_empty`` it runs on the step-5 grades and the place stays empty (the committee
  may adjust with a written reason); with ``next_in_rank`` the appraisee is no
  candidate for the better grades during step 5, so the place goes to the next in
  rank.  Cross-year rules compare this grade and the most recent previous grades and
  raise their flag; :func:`as_approved` re-judges them for an adjusted grade.
* A candidate of a grade whose quota floor(s × N) is 0 is flagged
  ``quota_floor_zero``.
* Consequences (约谈, 限期整改, 组织处理) follow the grade after step 6, the assessments
  and the cross-year flags, as the rules' ``consequences`` say; :func:`as_approved`
  re-judges them for the approved grade and dates a time limit from the publication.
* Step 7: :func:`format_score` rounds half up to 2 decimals for display only;
  :func:`exact` always writes ``numerator/denominator`` (``"87/1"`` too), so the
  exact form has one spelling.
* Every flag comes with a :class:`Note` saying why.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from itertools import groupby, takewhile
from typing import Any

from domain.ballots import (
    Ballot,
    BallotValidity,
    Row,
    Tally,
    check_ballot_shape,
    tally,
    validate_ballot,
)
from domain.errors import RuleViolation
from domain.rules import DIMENSION_SCORES, GRADE_CHOICE, Grade, Group, LinkedRule, Rules

__all__ = [
    "COMPLETE",
    "INCOMPLETE",
    "Appraisee",
    "AppraiseeResult",
    "Ballot",
    "BallotValidity",
    "Consequence",
    "GroupResult",
    "Note",
    "Outcome",
    "QuotaDecision",
    "Row",
    "RowRef",
    "ScoringInput",
    "as_approved",
    "check_ballot_shape",
    "consequences_of",
    "cross_year_notes",
    "exact",
    "format_score",
    "score",
    "tally",
    "validate_ballot",
]

COMPLETE = "complete"
INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class Appraisee:
    appraisee_id: str
    category: str


@dataclass(frozen=True)
class ScoringInput:
    rules: Rules
    appraisees: Sequence[Appraisee]
    # A Mapping by ballot id is read one ballot at a time, in id order, so that a campaign's
    # ballots need never all be in memory (`domain.derivation` makes each as it is read).
    ballots: Sequence[Ballot] | Mapping[str, Ballot]
    # appraisee_id -> {assessment code: value code}
    assessments: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # appraisee_id -> grades of previous years, most recent last
    previous_grades: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RowRef:
    """One ballot row as it entered (``score``) or was kept out of (``reason``) a group."""

    ballot_id: str
    signer: str
    position: int | None
    score: Fraction | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class GroupResult:
    ballots: int
    score: Fraction | None
    missing: bool
    rows_used: tuple[RowRef, ...]
    rows_trimmed: tuple[RowRef, ...]
    rows_excluded: tuple[RowRef, ...]


@dataclass(frozen=True, slots=True)
class Note:
    flag: str
    reason: str


@dataclass(frozen=True)
class Consequence:
    """What a result entails (约谈, 限期整改, 组织处理), and why: the trigger with its label."""

    kind: str
    reason: str
    within_days: int | None = None
    due: str | None = None  # ISO date: the publication's date + within_days, once published

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "reason": self.reason}
        if self.within_days is not None:
            out["within_days"] = self.within_days
        if self.due is not None:
            out["due"] = self.due
        return out


@dataclass(frozen=True)
class QuotaDecision:
    category: str
    grade: str
    quota: int | None
    candidates: tuple[str, ...]
    granted: tuple[str, ...]
    tied: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class AppraiseeResult:
    appraisee_id: str
    category: str
    status: str
    score: Fraction | None
    rank: int | None
    grade: str | None
    grade_before_rules: str | None  # the step-5 grade, before linked rules capped it
    flags: tuple[str, ...]
    notes: tuple[Note, ...]
    groups: Mapping[str, GroupResult]
    weights: Mapping[str, Fraction]  # the weights actually applied (after renormalising)
    previous_grades: tuple[str, ...] = ()  # the unbroken run of years before, oldest first
    consequences: tuple[Consequence, ...] = ()


@dataclass(frozen=True)
class Outcome:
    results: tuple[AppraiseeResult, ...]
    quota_decisions: tuple[QuotaDecision, ...]
    tally: Mapping[str, Mapping[str, Any]]

    def result(self, appraisee_id: str) -> AppraiseeResult:
        for result in self.results:
            if result.appraisee_id == appraisee_id:
                return result
        raise KeyError(appraisee_id)

    def result_dicts(self) -> Iterator[dict[str, Any]]:
        """`to_dict()["results"]`, one at a time: a campaign's every counted row need not
        be in memory at once."""
        return (_result_dict(r) for r in self.results)

    def to_dict(self, *, results: bool = True) -> dict[str, Any]:
        """Plain JSON values, numbers as strings, in canonical order (the proposal's hash
        input); without `results`, only the quota decisions and the tally."""
        document: dict[str, Any] = {
            "quota_decisions": [
                {
                    "category": d.category,
                    "grade": d.grade,
                    "quota": d.quota,
                    "candidates": list(d.candidates),
                    "granted": list(d.granted),
                    "tied": list(d.tied),
                    "reason": d.reason,
                }
                for d in self.quota_decisions
            ],
            "tally": {
                code: {k: dict(v) if isinstance(v, Mapping) else v for k, v in counts.items()}
                for code, counts in sorted(self.tally.items())
            },
        }
        if results:
            document["results"] = list(self.result_dicts())
        return document


def format_score(value: Fraction) -> str:
    """Display form: half up (away from zero) to 2 decimals, e.g. 1747/20 → "87.35"."""
    hundredths = math.floor(abs(value) * 100 + Fraction(1, 2))
    sign = "-" if value < 0 and hundredths else ""
    return f"{sign}{hundredths // 100}.{hundredths % 100:02d}"


def exact(value: Fraction) -> str:
    """Exact form, always ``numerator/denominator`` ("1747/20", "87/1")."""
    numerator, denominator = value.as_integer_ratio()
    return f"{numerator}/{denominator}"


def score(inp: ScoringInput) -> Outcome:
    """Run DESIGN §5 steps 1–7 over a campaign's roster and ballots."""
    rules = inp.rules
    roster = _roster(rules, inp.appraisees)
    _check_assessments(rules, roster, inp.assessments)
    counts, scored, excluded = _count(rules, roster, inp.ballots)

    works = {
        aid: _combine(
            rules,
            appraisee,
            {
                g.code: _group_result(rules, g, scored[aid, g.code], excluded[aid, g.code])
                for g in rules.groups
            },
        )
        for aid, appraisee in roster.items()
    }
    decisions: list[QuotaDecision] = []
    for category in sorted({a.category for a in roster.values()}):
        members = [w for w in works.values() if w.category == category]
        tie_groups = _rank(rules, [w for w in members if w.status == COMPLETE])
        barred = _barred(rules, category, members, inp.assessments)
        decisions += _grade(rules.grades_for(category), category, len(members), tie_groups, barred)
    for work in works.values():
        assessed = inp.assessments.get(work.appraisee_id, {})
        _apply_linked_rules(rules, work, assessed)
        _apply_cross_year(rules, work, inp.previous_grades.get(work.appraisee_id, ()))
        work.consequences = consequences_of(
            rules, work.category, work.grade, assessed, tuple(work.notes)
        )

    results = sorted(
        (w.freeze() for w in works.values()),
        key=lambda r: (r.category, r.rank is None, r.rank or 0, r.appraisee_id),
    )
    return Outcome(tuple(results), tuple(decisions), counts)


# -- step 1: rows ------------------------------------------------------------------------


def _roster(rules: Rules, appraisees: Sequence[Appraisee]) -> dict[str, Appraisee]:
    roster: dict[str, Appraisee] = {}
    for appraisee in sorted(appraisees, key=lambda a: a.appraisee_id):
        if appraisee.appraisee_id in roster:
            raise RuleViolation(f"appraisee {appraisee.appraisee_id!r} is listed twice")
        if not rules.has_category(appraisee.category):
            raise RuleViolation(
                f"appraisee {appraisee.appraisee_id!r} has an undeclared category "
                f"{appraisee.category!r}",
                category=appraisee.category,
            )
        roster[appraisee.appraisee_id] = appraisee
    return roster


def _check_assessments(
    rules: Rules, roster: Mapping[str, Appraisee], assessments: Mapping[str, Mapping[str, str]]
) -> None:
    declared = {a.code: {v.code for v in a.values} for a in rules.assessments}
    for aid, values in assessments.items():
        if aid not in roster:
            raise RuleViolation(f"assessment for {aid!r}, who is not on the roster")
        for code, value in values.items():
            if value not in declared.get(code, ()):
                raise RuleViolation(f"{aid!r}: {code}={value!r} is not a declared assessment")


def _count(
    rules: Rules, roster: Mapping[str, Appraisee], ballots: Sequence[Ballot] | Mapping[str, Ballot]
) -> tuple[
    dict[str, dict[str, Any]],
    defaultdict[tuple[str, str], list[RowRef]],
    defaultdict[tuple[str, str], list[RowRef]],
]:
    """Steps 0 and 1 in one pass over the ballots in id order: classify and tally each,
    score every counted row, record every row left out with its reason. Given a Mapping,
    each ballot is read once and dropped once its rows are recorded."""
    by_id = ballots if isinstance(ballots, Mapping) else _ballots_by_id(ballots)
    counts = Tally(rules)
    scored: defaultdict[tuple[str, str], list[RowRef]] = defaultdict(list)
    excluded: defaultdict[tuple[str, str], list[RowRef]] = defaultdict(list)
    weights = _over_common_denominator([d.weight for d in rules.dimensions])
    for listed in sorted(by_id):
        ballot = by_id[listed]
        if ballot.ballot_id != listed:
            raise RuleViolation(f"ballot {ballot.ballot_id!r} is listed as {listed!r}")
        validity = validate_ballot(rules, ballot, roster)
        counts.add(ballot, validity)
        group = rules.group(ballot.group)
        reason = None
        if ballot.voided is not None:
            reason = f"voided:{ballot.voided}"
        elif not validity.valid:
            reason = f"invalid:{validity.reason}"
        for row in ballot.rows:
            if row.appraisee_id not in roster:
                continue
            key = (row.appraisee_id, group.code)
            ballot_id, signer, position = ballot.ballot_id, ballot.signer, ballot.position
            if reason is not None:
                excluded[key].append(RowRef(ballot_id, signer, position, reason=reason))
            elif row.abstain:
                excluded[key].append(RowRef(ballot_id, signer, position, reason="abstain"))
            else:
                score = _row_score(rules, group, row, weights)
                scored[key].append(RowRef(ballot_id, signer, position, score=score))
    return counts.counts(), scored, excluded


def _ballots_by_id(ballots: Sequence[Ballot]) -> dict[str, Ballot]:
    by_id: dict[str, Ballot] = {}
    for ballot in ballots:
        if ballot.ballot_id in by_id:
            raise RuleViolation(f"duplicate ballot id {ballot.ballot_id!r}")
        by_id[ballot.ballot_id] = ballot
    return by_id


def _over_common_denominator(weights: Sequence[Fraction]) -> tuple[list[int], int]:
    """Weights as integer numerators over one denominator: then a row's weighted sum is one
    Fraction, not one per dimension (the value is the same exact fraction)."""
    denominator = math.lcm(*(w.denominator for w in weights))
    return [w.numerator * (denominator // w.denominator) for w in weights], denominator


def _row_score(
    rules: Rules, group: Group, row: Row, dimension_weights: tuple[list[int], int]
) -> Fraction:
    """A valid row's score; validity makes every dimension score a (non-bool) int."""
    if group.form == DIMENSION_SCORES:
        scores = row.scores or {}
        numerators, denominator = dimension_weights
        points = [scores[d.code] for d in rules.dimensions]
        return Fraction(sum(n * p for n, p in zip(numerators, points, strict=True)), denominator)
    if group.form == GRADE_CHOICE:
        return next(c.score for c in rules.choices if c.code == row.choice)
    awarded = row.indicators or {}
    total = sum((Fraction(awarded[i.code]) for i in group.indicators), Fraction(0))
    return total * rules.scale / group.total_points


# -- step 2: group scores ----------------------------------------------------------------


def _group_result(
    rules: Rules, group: Group, scored: list[RowRef], excluded: list[RowRef]
) -> GroupResult:
    """Step 2: mean of the rows, trimmed when there are enough; missing below min_ballots."""
    # Scores as integers over one common denominator: the same order and the same exact
    # mean as with Fractions, without a Fraction operation per comparison and per sum.
    ratios = [(row.score or Fraction(0)).as_integer_ratio() for row in scored]
    common = math.lcm(*(denominator for _, denominator in ratios))
    keyed = sorted(
        (numerator * (common // denominator), row.ballot_id, row)
        for (numerator, denominator), row in zip(ratios, scored, strict=True)
    )
    rows = [row for _, _, row in keyed]
    left_out = tuple(sorted(excluded, key=lambda r: (r.ballot_id, r.reason or "")))
    if len(rows) < group.min_ballots:
        return GroupResult(len(rows), None, True, _by_id(rows), (), left_out)
    trim = rules.aggregation.trim
    if trim and len(rows) >= rules.aggregation.trim_min_ballots:
        used, trimmed = keyed[trim:-trim], rows[:trim] + rows[-trim:]
    else:
        used, trimmed = keyed, []
    mean = Fraction(sum(scaled for scaled, _, _ in used), common) / len(used)
    return GroupResult(
        len(rows), mean, False, _by_id([row for _, _, row in used]), _by_id(trimmed), left_out
    )


def _by_id(rows: list[RowRef]) -> tuple[RowRef, ...]:
    return tuple(sorted(rows, key=lambda r: r.ballot_id))


# -- step 3: comprehensive score ---------------------------------------------------------


@dataclass
class _Work:
    """An appraisee's result while it is being built."""

    appraisee_id: str
    category: str
    groups: dict[str, GroupResult]
    status: str = INCOMPLETE
    score: Fraction | None = None
    weights: dict[str, Fraction] = field(default_factory=dict)
    rank: int | None = None
    grade: str | None = None
    grade_before_rules: str | None = None
    previous_grades: tuple[str, ...] = ()
    consequences: tuple[Consequence, ...] = ()
    notes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def note(self, flag: str, reason: str) -> None:
        if reason not in self.notes[flag]:
            self.notes[flag].append(reason)

    def freeze(self) -> AppraiseeResult:
        notes = tuple(Note(flag, "; ".join(self.notes[flag])) for flag in sorted(self.notes))
        return AppraiseeResult(
            appraisee_id=self.appraisee_id,
            category=self.category,
            status=self.status,
            score=self.score,
            rank=self.rank,
            grade=self.grade,
            grade_before_rules=self.grade_before_rules,
            flags=tuple(n.flag for n in notes),
            notes=notes,
            groups=dict(self.groups),
            weights=dict(self.weights),
            previous_grades=self.previous_grades,
            consequences=self.consequences,
        )


def _combine(rules: Rules, appraisee: Appraisee, groups: dict[str, GroupResult]) -> _Work:
    """Step 3: Σ weight × group score, blocking or renormalising around missing groups."""
    work = _Work(appraisee.appraisee_id, appraisee.category, groups)
    present = {g.code: (g.weight, groups[g.code].score) for g in rules.groups}
    for g in rules.groups:
        if groups[g.code].missing:
            del present[g.code]
            work.note(
                f"missing_group:{g.code}",
                f"{groups[g.code].ballots} scored row(s), {g.min_ballots} needed",
            )
    renormalized = len(present) < len(rules.groups)
    if renormalized and (rules.aggregation.missing_group == "block" or not present):
        return work
    total = sum((weight for weight, _ in present.values()), Fraction(0))
    if renormalized:
        work.note(
            "renormalized",
            f"weights of the present groups divided by their sum {_plain(total)}",
        )
    work.weights = {code: weight / total for code, (weight, _) in present.items()}
    work.score = sum(
        (work.weights[code] * s for code, (_, s) in present.items() if s is not None),
        Fraction(0),
    )
    work.status = COMPLETE
    return work


# -- steps 4 and 5: ranking and grading --------------------------------------------------


def _rank(rules: Rules, complete: list[_Work]) -> list[list[_Work]]:
    """Step 4: competition ranks; returns the still-tied groups in rank order."""

    def key(work: _Work) -> tuple[Any, ...]:
        """Ascending sort key for descending order; a missing tie-break group sorts last."""
        parts: list[Any] = [-work.score if work.score is not None else 0]
        for tie_break in rules.tie_break:
            group_score = work.groups[tie_break.partition(":")[2]].score
            parts.append((0, 0) if group_score is None else (-1, -group_score))
        return tuple(parts)

    ordered = sorted(complete, key=lambda w: (key(w), w.appraisee_id))
    tie_groups = [list(members) for _, members in groupby(ordered, key=key)]
    rank = 1
    for members in tie_groups:
        for work in members:
            work.rank = rank
        rank += len(members)
    return tie_groups


# appraisee id -> grade code -> the linked rule that keeps the appraisee from that grade
Barred = Mapping[str, Mapping[str, LinkedRule]]


def _barred(
    rules: Rules,
    category: str,
    members: list[_Work],
    assessments: Mapping[str, Mapping[str, str]],
) -> Barred:
    """Step 6 rules whose freed place goes to the next in rank (``freed_place:
    next_in_rank``) act during step 5: the capped appraisee is no candidate for the grades
    better than the cap, so the place is granted to whoever ranks next."""
    order = [g.code for g in rules.grades_for(category)]
    barred: dict[str, dict[str, LinkedRule]] = {}
    for rule in rules.linked_rules:
        if rule.freed_place != "next_in_rank":
            continue
        for work in members:
            if rule.applies(category, assessments.get(work.appraisee_id, {})):
                for code in order[: order.index(rule.cap_grade)]:
                    barred.setdefault(work.appraisee_id, {}).setdefault(code, rule)
    return barred


def _grade(
    grades: tuple[Grade, ...],
    category: str,
    n: int,
    tie_groups: list[list[_Work]],
    barred: Barred,
) -> list[QuotaDecision]:
    """Step 5: grades best first under min_score and quota; the last takes everyone left."""
    decisions = []
    remaining = tie_groups
    for grade in grades[:-1]:
        granted, decision = _grade_one(grade, category, n, remaining, barred)
        taken = {w.appraisee_id for tg in granted for w in tg}
        remaining = [
            kept for tg in remaining if (kept := [w for w in tg if w.appraisee_id not in taken])
        ]
        decisions.append(decision)
    everyone = tuple(w.appraisee_id for tg in remaining for w in tg)
    _assign(grades[-1], remaining)
    decisions.append(
        QuotaDecision(
            category,
            grades[-1].code,
            None,
            everyone,
            everyone,
            (),
            "the last grade takes everyone left",
        )
    )
    return decisions


def _grade_one(
    grade: Grade, category: str, n: int, remaining: list[list[_Work]], barred: Barred
) -> tuple[list[list[_Work]], QuotaDecision]:
    """Grant one grade to a rank-order prefix of the tie groups left; never split a tie."""
    eligible = []
    for tg in remaining:
        kept = []
        for work in tg:
            rule = barred.get(work.appraisee_id, {}).get(grade.code)
            if rule is None:
                kept.append(work)
            elif _qualifies(grade, work):
                work.note(
                    f"linked_rule:{rule.code}",
                    f"{rule.reason}: no candidate for {grade.code} (at best {rule.cap_grade}); "
                    "the place passes to the next in rank",
                )
        if kept:
            eligible.append(kept)
    candidates = list(takewhile(lambda tg: _qualifies(grade, tg[0]), eligible))
    reasons = [
        "candidates: everyone left"
        if grade.min_score is None
        else f"candidates: score ≥ {_plain(grade.min_score)}"
    ]
    granted, tied = candidates, []
    quota = grade.quota(n)
    if quota is not None:
        reasons.append(f"quota floor({_plain(grade.max_share)} × {n}) = {quota}")
        if quota == 0:
            for work in (w for tg in candidates for w in tg):
                work.note(
                    "quota_floor_zero",
                    f"floor({_plain(grade.max_share)} × {n}) = 0: category {category} has "
                    f"no place for {grade.code}",
                )
        granted, taken = [], 0
        for tg in candidates:
            if taken + len(tg) > quota:
                if taken < quota:
                    tied = tg
                    reasons.append(
                        f"{len(tg)} tied at rank {tg[0].rank} for {quota - taken} "
                        "remaining place(s): none of them granted"
                    )
                break
            granted.append(tg)
            taken += len(tg)
    for work in tied:
        work.note("quota_tie", f"tied at rank {work.rank} across the {grade.code} quota boundary")
    _assign(grade, granted)
    ids = tuple(w.appraisee_id for tg in granted for w in tg)
    reasons.append(f"{len(ids)} granted")
    decision = QuotaDecision(
        category,
        grade.code,
        quota,
        tuple(w.appraisee_id for tg in candidates for w in tg),
        ids,
        tuple(w.appraisee_id for w in tied),
        "; ".join(reasons),
    )
    return granted, decision


def _qualifies(grade: Grade, work: _Work) -> bool:
    return grade.min_score is None or (work.score is not None and work.score >= grade.min_score)


def _assign(grade: Grade, tie_groups: list[list[_Work]]) -> None:
    for tg in tie_groups:
        for work in tg:
            work.grade = work.grade_before_rules = grade.code


# -- step 6: linked rules and cross-year flags -------------------------------------------


def _apply_linked_rules(rules: Rules, work: _Work, assessments: Mapping[str, str]) -> None:
    """Step 6 for rules that leave the freed place empty: cap the step-5 grade."""
    if work.grade is None:
        return
    grades = rules.grades_for(work.category)
    order = [g.code for g in grades]
    for rule in rules.linked_rules:
        if rule.freed_place != "left_empty" or not rule.applies(work.category, assessments):
            continue
        if order.index(work.grade) >= order.index(rule.cap_grade):
            continue
        value = assessments.get(rule.assessment)
        shown = "not recorded" if value is None else value
        empty = "; its place is left empty" if grades[order.index(work.grade)].max_share else ""
        work.note(
            f"linked_rule:{rule.code}",
            f"{rule.reason} ({rule.assessment} = {shown}, allowed {', '.join(rule.allowed)}): "
            f"{work.grade} capped to {rule.cap_grade}{empty}",
        )
        work.grade = rule.cap_grade


def _apply_cross_year(rules: Rules, work: _Work, previous: Sequence[str]) -> None:
    work.previous_grades = tuple(previous)
    for note in cross_year_notes(rules, work.category, work.grade, previous):
        work.note(note.flag, note.reason)


def cross_year_notes(
    rules: Rules, category: str, grade: str | None, previous: Sequence[str]
) -> list[Note]:
    """The cross-year flags a grade raises, given the grades of the years just before
    (oldest first): the computed grade's in a proposal, the approved one's after approval."""
    notes = []
    for rule in rules.cross_year:
        if rule.category not in (None, category) or grade != rule.grade:
            continue
        needed = rule.consecutive_years - 1
        recent = list(previous[len(previous) - needed :]) if needed else []
        if len(recent) == needed and all(g == rule.grade for g in recent):
            why = f"{rule.reason}: " if rule.reason else ""
            notes.append(
                Note(rule.flag, f"{why}{rule.grade} {rule.consecutive_years} years running")
            )
    return notes


def consequences_of(
    rules: Rules,
    category: str,
    grade: str | None,
    assessments: Mapping[str, str],
    flags: Sequence[str],
    published_on: date | None = None,
) -> tuple[Consequence, ...]:
    """The consequences a result entails, in the rules' order: of its grade (the computed
    one in a proposal, the approved one after approval), its assessments and its
    cross-year flags. A time limit falls due `within_days` after `published_on`."""
    found = []
    for rule in rules.consequences:
        if not rule.triggered(category, grade, assessments, flags):
            continue
        if rule.grade is not None:
            trigger = f"grade {rules.grade(category, rule.grade).label} ({rule.grade})"
        elif rule.assessment is not None:
            declared = next(a for a in rules.assessments if a.code == rule.assessment)
            value = assessments[rule.assessment]
            label = next(v.label for v in declared.values if v.code == value)
            trigger = f"{declared.label} {label} ({rule.assessment} = {value})"
        else:
            cross = next(r for r in rules.cross_year if r.flag == rule.cross_year)
            trigger = f"{cross.flag}: {cross.grade} {cross.consecutive_years} years running"
        due = None
        if rule.within_days is not None and published_on is not None:
            due = (published_on + timedelta(days=rule.within_days)).isoformat()
        reason = f"{trigger}: {rule.reason}" if rule.reason else trigger
        found.append(Consequence(rule.kind, reason, rule.within_days, due))
    return tuple(found)


def as_approved(
    rules: Rules,
    result: Mapping[str, Any],
    adjustment: Mapping[str, Any] | None,
    assessments: Mapping[str, str],
    published_on: date | None = None,
) -> dict[str, Any]:
    """A proposed result (``Outcome.to_dict`` form) with the committee's adjustment applied:
    its grade, and the cross-year flags and consequences that grade entails instead of the
    computed one's; once published, each time limit dated from `published_on`."""
    approved = dict(result)
    if adjustment is not None and adjustment["grade"] != result["grade"]:
        cross_year = {rule.flag for rule in rules.cross_year}
        notes = {n["flag"]: n["reason"] for n in result["notes"] if n["flag"] not in cross_year}
        raised = cross_year_notes(
            rules, result["category"], adjustment["grade"], result.get("previous_grades", ())
        )
        for note in raised:
            notes[note.flag] = note.reason
        flags = sorted(
            {f for f in result["flags"] if f not in cross_year} | {n.flag for n in raised}
        )
        approved |= {
            "grade": adjustment["grade"],
            "flags": flags,
            "notes": [{"flag": flag, "reason": notes[flag]} for flag in flags if flag in notes],
        }
    entailed = consequences_of(
        rules, approved["category"], approved["grade"], assessments, approved["flags"], published_on
    )
    approved["consequences"] = [c.to_dict() for c in entailed]
    return approved


# -- step 7: display ---------------------------------------------------------------------


def _plain(value: Fraction | None) -> str:
    """A terminating fraction as a plain decimal ("0.15"), else its exact form."""
    if value is None:
        return "none"
    for digits in range(0, 19):
        scaled = value * 10**digits
        if scaled.denominator == 1:
            text = str(abs(scaled.numerator)).rjust(digits + 1, "0")
            sign = "-" if value < 0 else ""
            return sign + (f"{text[:-digits]}.{text[-digits:]}" if digits else text)
    return exact(value)


def _score_pair(value: Fraction | None) -> dict[str, str | None]:
    if value is None:
        return {"score": None, "score_exact": None}
    return {"score": format_score(value), "score_exact": exact(value)}


def _row_dict(row: RowRef) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ballot_id": row.ballot_id,
        "signer": row.signer,
        "position": row.position,
    }
    if row.score is not None:
        out["score_exact"] = exact(row.score)
    if row.reason is not None:
        out["reason"] = row.reason
    return out


def _result_dict(r: AppraiseeResult) -> dict[str, Any]:
    return {
        "appraisee_id": r.appraisee_id,
        "category": r.category,
        "status": r.status,
        **_score_pair(r.score),
        "rank": r.rank,
        "grade": r.grade,
        "grade_before_rules": r.grade_before_rules,
        "flags": list(r.flags),
        "notes": [{"flag": n.flag, "reason": n.reason} for n in r.notes],
        "previous_grades": list(r.previous_grades),
        "consequences": [c.to_dict() for c in r.consequences],
        "weights": {code: exact(w) for code, w in sorted(r.weights.items())},
        "groups": {
            code: {
                "ballots": g.ballots,
                **_score_pair(g.score),
                "missing": g.missing,
                "rows_used": [_row_dict(x) for x in g.rows_used],
                "rows_trimmed": [_row_dict(x) for x in g.rows_trimmed],
                "rows_excluded": [_row_dict(x) for x in g.rows_excluded],
            }
            for code, g in sorted(r.groups.items())
        },
    }
