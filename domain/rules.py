"""Rules schema v1 (DESIGN §5): a campaign's rules document, parsed and validated.

A rules document is checked once, on ``campaign.create``, and then frozen with the
campaign; every later computation reads the parsed :class:`Rules`.  Validation is
strict and names the offending place with a JSON pointer (``RulesInvalid.details
["path"]``, e.g. ``/groups/2/weight``) so an organiser can fix the document.

Number encoding.  Weights, shares, scores and points are *decimal strings*
(``"0.45"``; no sign, exponent, leading zeros or surrounding spaces) parsed to
exact :class:`fractions.Fraction`; integers are only accepted where the schema says
int (``scale``, ``min_ballots``, ``trim`` …).  Floats and booleans are refused
everywhere, so two auditors can never read a rule differently.

Required sections: ``scale``, ``groups``, and ``grades`` (``grades`` may be left
out only when every declared category carries its own list).  ``dimensions`` is
required when a group uses ``dimension_scores``, ``choices`` when one uses
``grade_choice``.  Everything else is optional with the defaults below.  Unknown
keys are refused at every level.

Grades are listed best first.  The ``min_score`` values given must strictly
decrease (a grade may rely on ``max_share`` alone, e.g. units' 一类 ≤50 %), and
the **last grade takes everyone left**, so it may carry neither ``min_score`` nor
``max_share``; an earlier grade must carry at least one of them (otherwise it
would already take everyone and the grades after it could never be reached).
``max_share`` lies in (0, 1].

Defaults: ``aggregation.trim`` 0, ``aggregation.trim_min_ballots`` 2×trim+1 (and
never less, so trimming always leaves a row), ``aggregation.missing_group``
``"block"``, ``approval.min_signatures`` 1, a group's ``anonymous`` false,
``min_ballots`` 1 and ``anonymity_floor`` = its ``min_ballots``, labels = codes.

Extensions beyond DESIGN §5 (all optional; docs/RULES.md is their reference):

- ``version`` (int, must be 1), ``title`` (text) and ``notes`` (list of text): let a
  rule file say where its numbers come from.
- A group with ``"form": "indicator_scores"`` and ``"indicators": [{"code",
  "label", "points": "<decimal>", "section"?}]`` records duty verification (seed
  004: four sections, seventeen tasks).  A row awards 0…points per indicator; its
  score is Σ awarded × scale / Σ points.
- A group's ``anonymity_floor`` (int ≥ 1): the fewest rows a read model may
  reveal a breakdown for.
- ``ballot_validity.groups``: the groups ``max_choice_share`` applies to (default:
  every ``grade_choice`` group) — a one-row self-assessment cannot sensibly be
  held to "at most 30 % excellent".
- ``categories``: ``[{"code", "label", "grades"?}]``.  When listed, every
  appraisee must carry one of them, and a category's own ``grades`` list replaces
  the top-level one for it (per-category quotas and labels, seed 002).  Without
  them the rules have one category, ``default_category`` (a code, default
  ``"cadre"``), and appraisees of any other are refused.
- A grade's ``advisory`` (bool, with ``max_share``): its quota binds the computed
  grades only, not the committee's adjustments (a seed's 原则上).
- ``assessments``: ``[{"code", "label", "values": [{"code", "label"}]}]`` —
  judgements made outside the ballots, such as the party-building debriefing
  graded 好/较好/一般/差.
- ``linked_rules``: ``[{"code", "category"?, "assessment", "allowed": [value],
  "cap_grade", "reason"}]`` — an appraisee (of that category, or any) whose
  assessment value is not in ``allowed`` is graded at best ``cap_grade``
  (DESIGN §5 step 6).  ``freed_place`` (``"left_empty"``, the default, or
  ``"next_in_rank"``) says whether the better grade's place passes on.
- ``cross_year``: ``[{"flag", "grade", "consecutive_years", "category"?,
  "reason"?}]`` — raise ``flag`` when this year's grade and the previous
  ``consecutive_years - 1`` years' grades all equal ``grade``.
- ``reports``: ``{"max_chars"?, "max_words"?, "parts"?: [{"code", "label",
  "categories"?}]}`` — limits and required parts of debriefing reports.
- ``credentials``: ``{"countersign"?: "inspector"}`` — two officials: a meeting that
  issues anonymous ballot rights takes effect only once a second official of that
  role, not the organiser who opened it, signs ``balloting.countersign``.
- ``consequences``: ``[{"kind", "grade" | "assessment" + "values" | "cross_year",
  "category"?, "within_days"?, "reason"?}]`` — what a grade, an assessment value or a
  cross-year flag entails: 约谈 (``interview``), 限期整改 (``rectify``, with
  ``within_days``, counted from the publication of the results) or a 组织处理 review
  (``disposal_review``).
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NoReturn

from domain.errors import DecimalOutOfRange, RulesInvalid, RuleViolation

DIMENSION_SCORES = "dimension_scores"
GRADE_CHOICE = "grade_choice"
INDICATOR_SCORES = "indicator_scores"
FORMS = (DIMENSION_SCORES, GRADE_CHOICE, INDICATOR_SCORES)
MISSING_GROUP_POLICIES = ("block", "renormalize")
TIE_BREAK_KINDS = ("group",)
DEFAULT_CATEGORY = "cadre"
DEFAULT_CATEGORY_LABEL = "干部"  # how the one undeclared category reads on paper and screens

_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
MAX_DECIMAL_DIGITS = 16  # before the point: every wire integer (≤ 2^53) fits
MAX_DECIMAL_SCALE = 12  # after the point
_CODE = re.compile(r"[A-Za-z0-9_-]+")
COUNTERSIGNERS = ("inspector",)  # the roles `credentials.countersign` may name
INTERVIEW = "interview"  # 约谈
RECTIFY = "rectify"  # 限期整改: a rectification plan within a time limit
DISPOSAL_REVIEW = "disposal_review"  # 组织处理: the organisation reviews the cadre's post
CONSEQUENCE_LABELS = {INTERVIEW: "约谈", RECTIFY: "限期整改", DISPOSAL_REVIEW: "组织处理"}
MAX_WITHIN_DAYS = 3660  # ten years: a time limit beyond that is a typo, and dates stay computable
CONSEQUENCE_TRIGGERS = ("grade", "assessment", "cross_year")


@dataclass(frozen=True)
class Dimension:
    code: str
    label: str
    weight: Fraction


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str
    points: Fraction
    section: str | None = None


@dataclass(frozen=True)
class Group:
    code: str
    label: str
    weight: Fraction
    anonymous: bool
    form: str
    min_ballots: int
    anonymity_floor: int
    indicators: tuple[Indicator, ...] = ()

    @property
    def total_points(self) -> Fraction:
        return sum((i.points for i in self.indicators), Fraction(0))


@dataclass(frozen=True)
class Choice:
    code: str
    label: str
    score: Fraction


@dataclass(frozen=True)
class Aggregation:
    trim: int = 0
    trim_min_ballots: int = 1
    missing_group: str = "block"


@dataclass(frozen=True)
class ValidityRules:
    """Per-ballot validity (DESIGN §4): the most of a ballot's rows a choice may take."""

    max_choice_share: Mapping[str, Fraction] = field(default_factory=dict)
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grade:
    code: str
    label: str
    min_score: Fraction | None = None
    max_share: Fraction | None = None
    advisory: bool = False  # the quota binds the computation, not the committee (原则上)

    def quota(self, n: int) -> int | None:
        """The most of a category's ``n`` appraisees this grade may hold: floor(s × n)."""
        return None if self.max_share is None else math.floor(self.max_share * n)


@dataclass(frozen=True)
class Quorum:
    min_share: Mapping[str, Fraction] = field(default_factory=dict)
    min_count: Mapping[str, int] = field(default_factory=dict)
    # group -> the least share of the body's members present (seed 004: 4/5)
    min_attendance_share: Mapping[str, Fraction] = field(default_factory=dict)

    def shortfalls(self, issued: Mapping[str, int]) -> tuple[str, ...]:
        """Groups short of their quorum, given participants issued a ballot per group."""
        total = sum(issued.values())
        short = {code for code, need in self.min_count.items() if issued.get(code, 0) < need}
        short |= {
            code
            for code, share in self.min_share.items()
            if total == 0 or Fraction(issued.get(code, 0), total) < share
        }
        return tuple(sorted(short))

    def refused_groups(self, issued: Mapping[str, int]) -> tuple[str, ...]:
        """The groups for which opening a meeting that issues `issued` ballots per group is
        refused: a count binds every group, a share only the groups the meeting issues to
        (a meeting may ballot some of the groups only)."""
        if not issued:
            return ()
        return tuple(g for g in self.shortfalls(issued) if g in issued or g in self.min_count)

    def check_attendance(
        self, attendance: Mapping[str, tuple[int, int]], issued: Mapping[str, int]
    ) -> None:
        """Refuse a meeting whose attendance (group -> (members, present)) falls short of
        `min_attendance_share` in a group it issues ballots to, or leaves it unrecorded."""
        for code, share in sorted(self.min_attendance_share.items()):
            if code not in issued:
                continue
            if code not in attendance:
                raise RuleViolation(
                    f"attendance of group {code} must be recorded (quorum.min_attendance_share)",
                    group=code,
                )
            members, present = attendance[code]
            if members == 0 or Fraction(present, members) < share:
                raise RuleViolation(
                    f"attendance quorum not met for group {code}: {present} of {members} "
                    f"present, at least {share} required",
                    group=code,
                    members=members,
                    present=present,
                )


SELF_GROUP = "self"


def check_self_rating(group: str, own_appraisee: str | None, rated: Iterable[str]) -> None:
    """The self group rates its own appraisee only, and nobody rates themselves elsewhere;
    `own_appraisee` is the signer's own appraisee in the meeting, if any."""
    rated = set(rated)
    if group == SELF_GROUP:
        if own_appraisee is None or rated != {own_appraisee}:
            raise RuleViolation("a self-evaluation ballot rates its own appraisee only")
    elif own_appraisee is not None and own_appraisee in rated:
        raise RuleViolation("nobody rates themselves outside the self group")


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    grades: tuple[Grade, ...]


@dataclass(frozen=True)
class AssessmentValue:
    code: str
    label: str


@dataclass(frozen=True)
class Assessment:
    code: str
    label: str
    values: tuple[AssessmentValue, ...]


FREED_PLACE_POLICIES = ("left_empty", "next_in_rank")


@dataclass(frozen=True)
class LinkedRule:
    code: str
    category: str | None
    assessment: str
    allowed: tuple[str, ...]
    cap_grade: str
    reason: str
    # what becomes of the better grade's place the capped appraisee would have held
    freed_place: str = "left_empty"

    def applies(self, category: str, assessments: Mapping[str, str]) -> bool:
        """Whether this rule caps an appraisee (an assessment not recorded is not allowed)."""
        return self.category in (None, category) and assessments.get(self.assessment) not in (
            self.allowed
        )


@dataclass(frozen=True)
class CrossYearRule:
    flag: str
    grade: str
    consecutive_years: int
    category: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class ConsequenceRule:
    """What one trigger entails: an approved grade (of the category, or any), an
    assessment value among `values`, or a cross-year rule's flag raised."""

    kind: str
    category: str | None = None
    grade: str | None = None
    assessment: str | None = None
    values: tuple[str, ...] = ()
    cross_year: str | None = None  # the flag of a cross_year rule
    within_days: int | None = None  # rectify only: the time limit after publication
    reason: str = ""

    def triggered(
        self,
        category: str,
        grade: str | None,
        assessments: Mapping[str, str],
        flags: Iterable[str],
    ) -> bool:
        if self.category not in (None, category):
            return False
        if self.grade is not None:
            return grade == self.grade
        if self.assessment is not None:
            return assessments.get(self.assessment) in self.values
        return self.cross_year in set(flags)


@dataclass(frozen=True)
class ReportPart:
    code: str
    label: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportRules:
    max_chars: int | None = None
    max_words: int | None = None
    parts: tuple[ReportPart, ...] = ()

    def parts_for(self, category: str) -> tuple[ReportPart, ...]:
        """The parts a report of this category must have (parts without categories: all)."""
        return tuple(p for p in self.parts if not p.categories or category in p.categories)


@dataclass(frozen=True)
class Rules:
    """A validated rules document; ``document`` is the original, kept verbatim for hashing."""

    scale: int
    groups: tuple[Group, ...]
    grades: tuple[Grade, ...]
    dimensions: tuple[Dimension, ...] = ()
    choices: tuple[Choice, ...] = ()
    aggregation: Aggregation = Aggregation()
    ballot_validity: ValidityRules = ValidityRules()
    tie_break: tuple[str, ...] = ()
    quorum: Quorum = Quorum()
    min_signatures: int = 1  # approval.min_signatures: the k of the committee's k-of-n
    categories: tuple[Category, ...] = ()
    default_category: str = DEFAULT_CATEGORY  # the one category when none are declared
    assessments: tuple[Assessment, ...] = ()
    linked_rules: tuple[LinkedRule, ...] = ()
    cross_year: tuple[CrossYearRule, ...] = ()
    reports: ReportRules = ReportRules()
    countersign: str | None = None  # credentials.countersign: the second official's role
    consequences: tuple[ConsequenceRule, ...] = ()
    document: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def group(self, code: str) -> Group:
        for group in self.groups:
            if group.code == code:
                return group
        raise RuleViolation(f"unknown evaluator group {code!r}", group=code)

    def choice(self, code: str) -> Choice | None:
        return next((c for c in self.choices if c.code == code), None)

    @property
    def category_codes(self) -> tuple[str, ...]:
        """The categories appraisees may carry: those declared, else the one default."""
        return tuple(c.code for c in self.categories) or (self.default_category,)

    def has_category(self, code: str) -> bool:
        """Whether appraisees may carry this category: a typo ("cader") never silently
        becomes a quota group of its own."""
        return code in self.category_codes

    def labels(self) -> dict[str, dict[str, str]]:
        """The label beside each code, by kind: categories, grades (every category's),
        groups and choices — what reads, forms and tables show instead of the codes."""
        categories = {c.code: c.label for c in self.categories} or {
            self.default_category: DEFAULT_CATEGORY_LABEL
        }
        grades = {g.code: g.label for g in self.grades}
        for category in self.categories:
            grades.update({g.code: g.label for g in category.grades})
        return {
            "categories": categories,
            "grades": grades,
            "groups": {g.code: g.label for g in self.groups},
            "choices": {c.code: c.label for c in self.choices},
            "consequences": dict(CONSEQUENCE_LABELS),
        }

    def grade(self, category: str, code: str) -> Grade:
        """One of a category's grades, by code."""
        for grade in self.grades_for(category):
            if grade.code == code:
                return grade
        raise RuleViolation(f"{code!r} is not a grade of category {category!r}", grade=code)

    def grades_for(self, category: str) -> tuple[Grade, ...]:
        """The grade list that applies to a category (its own, else the top-level one)."""
        for cat in self.categories:
            if cat.code == category:
                return cat.grades
        if self.categories or category != self.default_category:
            raise RuleViolation(
                f"unknown category {category!r} (the rules' categories: "
                f"{', '.join(self.category_codes)})",
                category=category,
            )
        return self.grades


def parse_decimal(value: object, path: str = "") -> Fraction:
    """Read a wire number (an int or a decimal string, never a float) exactly.

    Raises ValueError for anything else, including negative or signed values, and
    DecimalOutOfRange beyond `MAX_DECIMAL_DIGITS` digits before the point or
    `MAX_DECIMAL_SCALE` after it: exact arithmetic on longer numbers grows without
    bound, and a rule or row that cannot be computed would block the campaign for good.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("must not be negative")
        value = str(value)
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise ValueError(f"not a decimal string: {value!r}")
    whole, _, fraction = value.partition(".")
    if len(whole) > MAX_DECIMAL_DIGITS or len(fraction) > MAX_DECIMAL_SCALE:
        raise DecimalOutOfRange(
            f"decimal at {path or '/'} has more than {MAX_DECIMAL_DIGITS} digits before the "
            f"point or {MAX_DECIMAL_SCALE} after it",
            path=path,
        )
    return Fraction(value)


_PARSED: dict[str, Rules] = {}
_PARSED_LIMIT = 256


def parse_rules(document: Mapping[str, Any]) -> Rules:
    """Validate a rules document and return it parsed; raise RulesInvalid on the first fault.

    Every ballot is checked against its meeting's rules, so valid documents are parsed
    once per distinct content (the parsed rules are frozen) rather than once per ballot.
    """
    try:
        key = json.dumps(document, sort_keys=True)
    except (TypeError, ValueError):
        return _parse_rules(document)
    rules = _PARSED.get(key)
    if rules is None:
        rules = _parse_rules(document)
        if len(_PARSED) >= _PARSED_LIMIT:
            _PARSED.clear()
        _PARSED[key] = rules
    return rules


def _parse_rules(document: Mapping[str, Any]) -> Rules:
    doc = _object(
        document,
        "",
        required=("scale", "groups"),
        optional=(
            "version",
            "title",
            "notes",
            "dimensions",
            "choices",
            "aggregation",
            "ballot_validity",
            "grades",
            "tie_break",
            "quorum",
            "approval",
            "categories",
            "default_category",
            "assessments",
            "linked_rules",
            "cross_year",
            "reports",
            "credentials",
            "consequences",
        ),
    )
    if "version" in doc and _int(doc["version"], "/version", 1) != 1:
        _fail("/version", "only version 1 is understood")
    if "title" in doc:
        _text(doc["title"], "/title")
    if "notes" in doc:
        for i, note in enumerate(_list(doc["notes"], "/notes")):
            _text(note, f"/notes/{i}")

    scale = _int(doc["scale"], "/scale", 1)
    dimensions = _dimensions(doc["dimensions"]) if "dimensions" in doc else ()
    choices = _choices(doc["choices"], scale) if "choices" in doc else ()
    groups = _groups(doc["groups"])
    for i, group in enumerate(groups):
        if group.form == DIMENSION_SCORES and not dimensions:
            _fail("/dimensions", f"required: /groups/{i} uses {DIMENSION_SCORES}")
        if group.form == GRADE_CHOICE and not choices:
            _fail("/choices", f"required: /groups/{i} uses {GRADE_CHOICE}")
    group_codes = [g.code for g in groups]
    choice_codes = [c.code for c in choices]

    aggregation = _aggregation(doc.get("aggregation", {}))
    validity = _ballot_validity(doc.get("ballot_validity", {}), choice_codes, groups)

    grades = _grades(doc["grades"], "/grades", scale) if "grades" in doc else ()
    categories = _categories(_list(doc.get("categories", []), "/categories"), grades, scale)
    if not grades and not categories:
        _fail("/grades", "is required")
    default_category = DEFAULT_CATEGORY
    if "default_category" in doc:
        if categories:
            _fail("/default_category", "only without a categories section: list it there")
        default_category = _code(doc["default_category"], "/default_category")

    tie_break = _tie_break(doc.get("tie_break", []), group_codes)
    quorum = _quorum(doc.get("quorum", {}), group_codes)
    approval = _object(doc.get("approval", {}), "/approval", (), ("min_signatures",))
    min_signatures = _int(approval.get("min_signatures", 1), "/approval/min_signatures", 1)

    category_codes = [c.code for c in categories] or [default_category]
    assessments = _assessments(doc.get("assessments", []))
    linked = _linked_rules(
        doc.get("linked_rules", []), categories, grades, assessments, category_codes
    )
    cross_year = _cross_year(doc.get("cross_year", []), categories, grades, category_codes)
    reports = _reports(doc.get("reports", {}), category_codes)
    countersign = _countersign(doc.get("credentials", {}))
    consequences = _consequences(
        doc.get("consequences", []), categories, grades, assessments, cross_year, category_codes
    )

    return Rules(
        scale=scale,
        groups=groups,
        grades=grades,
        dimensions=dimensions,
        choices=choices,
        aggregation=aggregation,
        ballot_validity=validity,
        tie_break=tie_break,
        quorum=quorum,
        min_signatures=min_signatures,
        categories=categories,
        default_category=default_category,
        assessments=assessments,
        linked_rules=linked,
        cross_year=cross_year,
        reports=reports,
        countersign=countersign,
        consequences=consequences,
        document=copy.deepcopy(dict(document)),
    )


# -- sections ----------------------------------------------------------------------------


def _countersign(value: Any) -> str | None:
    obj = _object(value, "/credentials", (), ("countersign",))
    if "countersign" not in obj:
        return None
    role = obj["countersign"]
    if role not in COUNTERSIGNERS:
        _fail("/credentials/countersign", f"must be one of {', '.join(COUNTERSIGNERS)}")
    return str(role)


def _dimensions(value: Any) -> tuple[Dimension, ...]:
    items = _list(value, "/dimensions", nonempty=True)
    dims = []
    for i, item in enumerate(items):
        path = f"/dimensions/{i}"
        obj = _object(item, path, ("code", "weight"), ("label",))
        code = _code(obj["code"], f"{path}/code")
        weight = _share(obj["weight"], f"{path}/weight")
        dims.append(Dimension(code, _label(obj, path, code), weight))
    _unique([d.code for d in dims], "/dimensions/{}/code")
    _sums_to_one([d.weight for d in dims], "/dimensions", "dimension weights")
    return tuple(dims)


def _choices(value: Any, scale: int) -> tuple[Choice, ...]:
    items = _list(value, "/choices", nonempty=True)
    choices = []
    for i, item in enumerate(items):
        path = f"/choices/{i}"
        obj = _object(item, path, ("code", "score"), ("label",))
        code = _code(obj["code"], f"{path}/code")
        score = _decimal(obj["score"], f"{path}/score")
        if score > scale:
            _fail(f"{path}/score", f"must lie within 0…{scale} (the scale)")
        choices.append(Choice(code, _label(obj, path, code), score))
    _unique([c.code for c in choices], "/choices/{}/code")
    return tuple(choices)


def _groups(value: Any) -> tuple[Group, ...]:
    items = _list(value, "/groups", nonempty=True)
    groups = []
    for i, item in enumerate(items):
        path = f"/groups/{i}"
        obj = _object(
            item,
            path,
            ("code", "weight", "form"),
            ("label", "anonymous", "min_ballots", "anonymity_floor", "indicators"),
        )
        code = _code(obj["code"], f"{path}/code")
        weight = _share(obj["weight"], f"{path}/weight")
        form = obj["form"]
        if form not in FORMS:
            _fail(f"{path}/form", f"must be one of {', '.join(FORMS)}")
        anonymous = obj.get("anonymous", False)
        if not isinstance(anonymous, bool):
            _fail(f"{path}/anonymous", "must be true or false")
        min_ballots = _int(obj.get("min_ballots", 1), f"{path}/min_ballots", 1)
        floor = _int(obj.get("anonymity_floor", min_ballots), f"{path}/anonymity_floor", 1)
        indicators: tuple[Indicator, ...] = ()
        if form == INDICATOR_SCORES:
            if "indicators" not in obj:
                _fail(f"{path}/indicators", f"is required for {INDICATOR_SCORES}")
            indicators = _indicators(obj["indicators"], f"{path}/indicators")
        elif "indicators" in obj:
            _fail(f"{path}/indicators", f"only allowed with form {INDICATOR_SCORES}")
        label = _label(obj, path, code)
        groups.append(Group(code, label, weight, anonymous, form, min_ballots, floor, indicators))
    _unique([g.code for g in groups], "/groups/{}/code")
    _sums_to_one([g.weight for g in groups], "/groups", "group weights")
    return tuple(groups)


def _indicators(value: Any, path: str) -> tuple[Indicator, ...]:
    items = _list(value, path, nonempty=True)
    indicators = []
    for i, item in enumerate(items):
        ipath = f"{path}/{i}"
        obj = _object(item, ipath, ("code", "points"), ("label", "section"))
        code = _code(obj["code"], f"{ipath}/code")
        points = _decimal(obj["points"], f"{ipath}/points")
        if points == 0:
            _fail(f"{ipath}/points", "must be greater than 0")
        section = _text(obj["section"], f"{ipath}/section") if "section" in obj else None
        indicators.append(Indicator(code, _label(obj, ipath, code), points, section))
    _unique([ind.code for ind in indicators], path + "/{}/code")
    return tuple(indicators)


def _aggregation(value: Any) -> Aggregation:
    obj = _object(value, "/aggregation", (), ("trim", "trim_min_ballots", "missing_group"))
    trim = _int(obj.get("trim", 0), "/aggregation/trim", 0)
    least = 2 * trim + 1
    trim_min = _int(obj.get("trim_min_ballots", least), "/aggregation/trim_min_ballots", 1)
    if trim_min < least:
        _fail(
            "/aggregation/trim_min_ballots",
            f"must be at least 2×trim+1 = {least}, so trimming always leaves a row",
        )
    missing = obj.get("missing_group", "block")
    if missing not in MISSING_GROUP_POLICIES:
        _fail("/aggregation/missing_group", f"must be one of {', '.join(MISSING_GROUP_POLICIES)}")
    return Aggregation(trim, trim_min, missing)


def _ballot_validity(
    value: Any, choice_codes: list[str], groups: tuple[Group, ...]
) -> ValidityRules:
    obj = _object(value, "/ballot_validity", (), ("max_choice_share", "groups"))
    shares_doc = _object(obj.get("max_choice_share", {}), "/ballot_validity/max_choice_share")
    shares = {}
    for code in sorted(shares_doc):
        path = f"/ballot_validity/max_choice_share/{_ptr(code)}"
        if code not in choice_codes:
            _fail(path, f"names an unknown choice {code!r}")
        shares[code] = _share(shares_doc[code], path)
    choice_groups = [g.code for g in groups if g.form == GRADE_CHOICE]
    if "groups" in obj:
        applies = _list(obj["groups"], "/ballot_validity/groups")
        for i, code in enumerate(applies):
            if code not in choice_groups:
                _fail(f"/ballot_validity/groups/{i}", f"{code!r} is not a {GRADE_CHOICE} group")
        _unique(list(applies), "/ballot_validity/groups/{}")
        scope = tuple(applies)
    else:
        scope = tuple(choice_groups)
    return ValidityRules(shares, scope)


def _grades(value: Any, path: str, scale: int) -> tuple[Grade, ...]:
    items = _list(value, path, nonempty=True)
    grades: list[Grade] = []
    last = len(items) - 1
    previous: Fraction | None = None
    for i, item in enumerate(items):
        gpath = f"{path}/{i}"
        obj = _object(item, gpath, ("code",), ("label", "min_score", "max_share", "advisory"))
        code = _code(obj["code"], f"{gpath}/code")
        if i == last:
            for key in ("min_score", "max_share"):
                if key in obj:
                    _fail(f"{gpath}/{key}", "the last grade takes everyone left: leave it out")
        elif "min_score" not in obj and "max_share" not in obj:
            _fail(gpath, "only the last grade may have neither min_score nor max_share")
        min_score = max_share = None
        if "min_score" in obj:
            min_score = _decimal(obj["min_score"], f"{gpath}/min_score")
            if min_score > scale:
                _fail(f"{gpath}/min_score", f"must lie within 0…{scale} (the scale)")
            if previous is not None and min_score >= previous:
                _fail(f"{gpath}/min_score", "must be strictly below the previous min_score")
            previous = min_score
        if "max_share" in obj:
            max_share = _share(obj["max_share"], f"{gpath}/max_share")
        advisory = _bool(obj.get("advisory", False), f"{gpath}/advisory")
        if advisory and max_share is None:
            _fail(f"{gpath}/advisory", "only a grade with a max_share has a quota to be advisory")
        grades.append(Grade(code, _label(obj, gpath, code), min_score, max_share, advisory))
    _unique([g.code for g in grades], path + "/{}/code")
    return tuple(grades)


def _categories(items: list[Any], default: tuple[Grade, ...], scale: int) -> tuple[Category, ...]:
    categories = []
    for i, item in enumerate(items):
        path = f"/categories/{i}"
        obj = _object(item, path, ("code",), ("label", "grades"))
        code = _code(obj["code"], f"{path}/code")
        if "grades" in obj:
            grades = _grades(obj["grades"], f"{path}/grades", scale)
        elif default:
            grades = default
        else:
            _fail("/grades", f"is required: {path} has no grades of its own")
        categories.append(Category(code, _label(obj, path, code), grades))
    _unique([c.code for c in categories], "/categories/{}/code")
    return tuple(categories)


def _tie_break(value: Any, group_codes: list[str]) -> tuple[str, ...]:
    keys = _list(value, "/tie_break")
    for i, key in enumerate(keys):
        path = f"/tie_break/{i}"
        if not isinstance(key, str) or ":" not in key:
            _fail(path, 'must be a key such as "group:leading_group"')
        kind, _, code = key.partition(":")
        if kind not in TIE_BREAK_KINDS:
            _fail(path, f"unknown tie-break kind {kind!r} (known: {', '.join(TIE_BREAK_KINDS)})")
        if code not in group_codes:
            _fail(path, f"names an unknown group {code!r}")
    _unique(list(keys), "/tie_break/{}")
    return tuple(keys)


def _quorum(value: Any, group_codes: list[str]) -> Quorum:
    obj = _object(value, "/quorum", (), ("min_share", "min_count", "min_attendance_share"))
    counts_doc = _object(obj.get("min_count", {}), "/quorum/min_count")

    def shares_of(name: str) -> dict[str, Fraction]:
        doc = _object(obj.get(name, {}), f"/quorum/{name}")
        shares = {}
        for code in sorted(doc):
            path = f"/quorum/{name}/{_ptr(code)}"
            if code not in group_codes:
                _fail(path, f"names an unknown group {code!r}")
            shares[code] = _share(doc[code], path)
        return shares

    shares, attendance = shares_of("min_share"), shares_of("min_attendance_share")
    counts = {}
    for code in sorted(counts_doc):
        path = f"/quorum/min_count/{_ptr(code)}"
        if code not in group_codes:
            _fail(path, f"names an unknown group {code!r}")
        counts[code] = _int(counts_doc[code], path, 1)
    return Quorum(shares, counts, attendance)


def _assessments(value: Any) -> tuple[Assessment, ...]:
    items = _list(value, "/assessments")
    assessments = []
    for i, item in enumerate(items):
        path = f"/assessments/{i}"
        obj = _object(item, path, ("code", "values"), ("label",))
        code = _code(obj["code"], f"{path}/code")
        values = []
        for j, v in enumerate(_list(obj["values"], f"{path}/values", nonempty=True)):
            vpath = f"{path}/values/{j}"
            vobj = _object(v, vpath, ("code",), ("label",))
            vcode = _code(vobj["code"], f"{vpath}/code")
            values.append(AssessmentValue(vcode, _label(vobj, vpath, vcode)))
        _unique([v.code for v in values], path + "/values/{}/code")
        assessments.append(Assessment(code, _label(obj, path, code), tuple(values)))
    _unique([a.code for a in assessments], "/assessments/{}/code")
    return tuple(assessments)


def _linked_rules(
    value: Any,
    categories: tuple[Category, ...],
    grades: tuple[Grade, ...],
    assessments: tuple[Assessment, ...],
    category_codes: list[str],
) -> tuple[LinkedRule, ...]:
    rules = []
    for i, item in enumerate(_list(value, "/linked_rules")):
        path = f"/linked_rules/{i}"
        obj = _object(
            item,
            path,
            ("code", "assessment", "allowed", "cap_grade", "reason"),
            ("category", "freed_place"),
        )
        code = _code(obj["code"], f"{path}/code")
        category = _known_category(obj, path, category_codes)
        assessment = next((a for a in assessments if a.code == obj["assessment"]), None)
        if assessment is None:
            _fail(f"{path}/assessment", f"names an undeclared assessment {obj['assessment']!r}")
        value_codes = [v.code for v in assessment.values]
        allowed = _list(obj["allowed"], f"{path}/allowed", nonempty=True)
        for j, v in enumerate(allowed):
            if v not in value_codes:
                _fail(f"{path}/allowed/{j}", f"{v!r} is not a value of {assessment.code!r}")
        _unique(list(allowed), path + "/allowed/{}")
        grade_lists = _grade_lists(categories, grades, category)
        cap = obj["cap_grade"]
        if not all(any(g.code == cap for g in gl) for gl in grade_lists):
            _fail(f"{path}/cap_grade", f"{cap!r} is not a grade of every category it applies to")
        reason = _text(obj["reason"], f"{path}/reason")
        freed = obj.get("freed_place", "left_empty")
        if freed not in FREED_PLACE_POLICIES:
            _fail(f"{path}/freed_place", f"must be one of {', '.join(FREED_PLACE_POLICIES)}")
        rules.append(
            LinkedRule(code, category, assessment.code, tuple(allowed), cap, reason, freed)
        )
    _unique([r.code for r in rules], "/linked_rules/{}/code")
    return tuple(rules)


def _cross_year(
    value: Any,
    categories: tuple[Category, ...],
    grades: tuple[Grade, ...],
    category_codes: list[str],
) -> tuple[CrossYearRule, ...]:
    rules = []
    for i, item in enumerate(_list(value, "/cross_year")):
        path = f"/cross_year/{i}"
        obj = _object(item, path, ("flag", "grade", "consecutive_years"), ("category", "reason"))
        flag = _code(obj["flag"], f"{path}/flag")
        category = _known_category(obj, path, category_codes)
        lists = _grade_lists(categories, grades, category)
        if not any(g.code == obj["grade"] for gl in lists for g in gl):
            _fail(f"{path}/grade", f"names an unknown grade {obj['grade']!r}")
        years = _int(obj["consecutive_years"], f"{path}/consecutive_years", 1)
        reason = _text(obj["reason"], f"{path}/reason") if "reason" in obj else ""
        rules.append(CrossYearRule(flag, obj["grade"], years, category, reason))
    return tuple(rules)


def _consequences(
    value: Any,
    categories: tuple[Category, ...],
    grades: tuple[Grade, ...],
    assessments: tuple[Assessment, ...],
    cross_year: tuple[CrossYearRule, ...],
    category_codes: list[str],
) -> tuple[ConsequenceRule, ...]:
    rules = []
    optional = ("category", *CONSEQUENCE_TRIGGERS, "values", "within_days", "reason")
    for i, item in enumerate(_list(value, "/consequences")):
        path = f"/consequences/{i}"
        obj = _object(item, path, ("kind",), optional)
        kind = obj["kind"]
        if not isinstance(kind, str) or kind not in CONSEQUENCE_LABELS:
            _fail(
                f"{path}/kind",
                f"unknown consequence kind {kind!r} (known: {', '.join(CONSEQUENCE_LABELS)})",
            )
        if sum(t in obj for t in CONSEQUENCE_TRIGGERS) != 1:
            _fail(path, f"needs exactly one trigger: {', '.join(CONSEQUENCE_TRIGGERS)}")
        category = _known_category(obj, path, category_codes)
        trigger = _consequence_trigger(obj, path, categories, grades, assessments, cross_year)
        within_days = None
        if kind == RECTIFY:
            if "within_days" not in obj:
                _fail(f"{path}/within_days", "is required: 限期整改 has a time limit")
            within_days = _int(obj["within_days"], f"{path}/within_days", 1)
            if within_days > MAX_WITHIN_DAYS:
                _fail(f"{path}/within_days", f"must be at most {MAX_WITHIN_DAYS}")
        elif "within_days" in obj:
            _fail(f"{path}/within_days", f"only a {RECTIFY} consequence has a time limit")
        reason = _text(obj["reason"], f"{path}/reason") if "reason" in obj else ""
        rules.append(
            ConsequenceRule(kind, category, within_days=within_days, reason=reason, **trigger)
        )
    return tuple(rules)


def _consequence_trigger(
    obj: Mapping[str, Any],
    path: str,
    categories: tuple[Category, ...],
    grades: tuple[Grade, ...],
    assessments: tuple[Assessment, ...],
    cross_year: tuple[CrossYearRule, ...],
) -> dict[str, Any]:
    """A consequence's one trigger, checked against the grades, assessments and
    cross-year flags the rules declare."""
    if "values" in obj and "assessment" not in obj:
        _fail(f"{path}/values", "only with assessment")
    if "grade" in obj:
        lists = _grade_lists(categories, grades, obj.get("category"))
        if not any(g.code == obj["grade"] for gl in lists for g in gl):
            _fail(f"{path}/grade", f"names an unknown grade {obj['grade']!r}")
        return {"grade": obj["grade"]}
    if "cross_year" in obj:
        if obj["cross_year"] not in [r.flag for r in cross_year]:
            _fail(f"{path}/cross_year", f"names no cross_year flag {obj['cross_year']!r}")
        return {"cross_year": obj["cross_year"]}
    assessment = next((a for a in assessments if a.code == obj["assessment"]), None)
    if assessment is None:
        _fail(f"{path}/assessment", f"names an undeclared assessment {obj['assessment']!r}")
    if "values" not in obj:
        _fail(f"{path}/values", "is required with assessment")
    values = _list(obj["values"], f"{path}/values", nonempty=True)
    codes = [v.code for v in assessment.values]
    for j, v in enumerate(values):
        if v not in codes:
            _fail(f"{path}/values/{j}", f"{v!r} is not a value of {assessment.code!r}")
    _unique(list(values), path + "/values/{}")
    return {"assessment": assessment.code, "values": tuple(values)}


def _reports(value: Any, category_codes: list[str]) -> ReportRules:
    obj = _object(value, "/reports", (), ("max_chars", "max_words", "parts"))
    max_chars = _int(obj["max_chars"], "/reports/max_chars", 1) if "max_chars" in obj else None
    max_words = _int(obj["max_words"], "/reports/max_words", 1) if "max_words" in obj else None
    parts = []
    for i, item in enumerate(_list(obj.get("parts", []), "/reports/parts")):
        path = f"/reports/parts/{i}"
        pobj = _object(item, path, ("code",), ("label", "categories"))
        code = _code(pobj["code"], f"{path}/code")
        cats = _list(pobj.get("categories", []), f"{path}/categories")
        for j, cat in enumerate(cats):
            if category_codes and cat not in category_codes:
                _fail(f"{path}/categories/{j}", f"names an undeclared category {cat!r}")
            _code(cat, f"{path}/categories/{j}")
        parts.append(ReportPart(code, _label(pobj, path, code), tuple(cats)))
    _unique([p.code for p in parts], "/reports/parts/{}/code")
    return ReportRules(max_chars, max_words, tuple(parts))


def _grade_lists(
    categories: tuple[Category, ...], grades: tuple[Grade, ...], category: str | None
) -> list[tuple[Grade, ...]]:
    """The grade lists a rule scoped to ``category`` (None: every category) must fit."""
    if category is not None:
        return [c.grades for c in categories if c.code == category] or [grades]
    return [c.grades for c in categories] or [grades]


def _known_category(obj: Mapping[str, Any], path: str, category_codes: list[str]) -> str | None:
    if "category" not in obj:
        return None
    category = _code(obj["category"], f"{path}/category")
    if category_codes and category not in category_codes:
        _fail(f"{path}/category", f"names an undeclared category {category!r}")
    return category


# -- primitives --------------------------------------------------------------------------


def _fail(path: str, message: str) -> NoReturn:
    raise RulesInvalid(f"{path or '/'}: {message}", path=path)


def _ptr(key: str) -> str:
    """Escape an object key as a JSON-pointer segment (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _object(
    value: Any, path: str, required: tuple[str, ...] = (), optional: tuple[str, ...] | None = None
) -> Mapping[str, Any]:
    """Check an object; ``optional`` None means any keys (a map keyed by codes)."""
    if not isinstance(value, Mapping):
        _fail(path, "must be an object")
    for key in value:
        if not isinstance(key, str):
            _fail(path, f"keys must be strings, not {key!r}")
    if optional is not None:
        known = set(required) | set(optional)
        for key in sorted(value):
            if key not in known:
                _fail(f"{path}/{_ptr(key)}", "unknown key")
    for key in required:
        if key not in value:
            _fail(f"{path}/{_ptr(key)}", "is required")
    return value


def _list(value: Any, path: str, nonempty: bool = False) -> list[Any]:
    if not isinstance(value, list | tuple):
        _fail(path, "must be a list")
    if nonempty and not value:
        _fail(path, "must not be empty")
    return list(value)


def _int(value: Any, path: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(path, "must be an integer")
    if value < minimum:
        _fail(path, f"must be at least {minimum}")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        _fail(path, "must be true or false")
    return value


def _decimal(value: Any, path: str) -> Fraction:
    if isinstance(value, float):
        _fail(path, f'floats are not allowed: write a decimal string such as "{value!r}"')
    if not isinstance(value, str):
        _fail(path, 'must be a decimal string such as "0.45"')
    try:
        return parse_decimal(value, path)
    except ValueError:
        _fail(path, f'{value!r} is not a decimal string such as "0.45"')


def _share(value: Any, path: str) -> Fraction:
    share = _decimal(value, path)
    if not 0 < share <= 1:
        _fail(path, "must lie in (0, 1]")
    return share


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(path, "must be a non-empty string")
    return value


def _code(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        _fail(path, "must be a code of letters, digits, '_' or '-'")
    return value


def _label(obj: Mapping[str, Any], path: str, default: str) -> str:
    return _text(obj["label"], f"{path}/label") if "label" in obj else default


def _unique(codes: Iterable[Any], path_template: str) -> None:
    seen: set[Any] = set()
    for i, code in enumerate(codes):
        if code in seen:
            _fail(path_template.format(i), f"duplicate {code!r}")
        seen.add(code)


def _sums_to_one(weights: list[Fraction], path: str, what: str) -> None:
    total = sum(weights, Fraction(0))
    if total != 1:
        _fail(path, f"{what} must sum to exactly 1, not {total.numerator}/{total.denominator}")
