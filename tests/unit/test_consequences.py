"""Consequences against an independent model: the seed rule files read as plain JSON
decide which kinds a result entails, in the file's order, and when a time limit falls due."""

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.rules import parse_rules
from domain.scoring import consequences_of

RULESETS = Path(__file__).parents[2] / "service/rulesets"
DOCUMENTS = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in RULESETS.glob("*.json")}


def model(
    document: dict[str, Any],
    category: str,
    grade: str | None,
    assessments: dict[str, str],
    flags: list[str],
    published: date | None,
) -> list[tuple[str, int | None, str | None]]:
    """(kind, within_days, due) straight from the document's `consequences` list."""
    out = []
    for entry in document.get("consequences", []):
        if entry.get("category", category) != category:
            continue
        if "grade" in entry:
            hit = entry["grade"] == grade
        elif "assessment" in entry:
            hit = assessments.get(entry["assessment"]) in entry["values"]
        else:
            hit = entry["cross_year"] in flags
        if hit:
            days = entry.get("within_days")
            due = None if days is None or published is None else published + timedelta(days)
            out.append((entry["kind"], days, None if due is None else due.isoformat()))
    return out


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, str | None, dict[str, str], list[str], date | None]:
    name = draw(st.sampled_from(sorted(DOCUMENTS)))
    rules = parse_rules(DOCUMENTS[name])
    category = draw(st.sampled_from(rules.category_codes))
    grade = draw(st.none() | st.sampled_from([g.code for g in rules.grades_for(category)]))
    assessments = {
        a.code: draw(st.sampled_from([v.code for v in a.values]))
        for a in rules.assessments
        if draw(st.booleans())
    }
    flags = draw(st.lists(st.sampled_from(["disposal_review", "quota_tie", "renormalized"])))
    published = draw(st.none() | st.dates(date(2020, 1, 1), date(2040, 12, 31)))
    return name, category, grade, assessments, flags, published


@given(cases())
def test_consequences_follow_the_rule_file(
    case: tuple[str, str, str | None, dict[str, str], list[str], date | None],
) -> None:
    name, category, grade, assessments, flags, published = case
    document = DOCUMENTS[name]
    found = consequences_of(parse_rules(document), category, grade, assessments, flags, published)
    assert [(c.kind, c.within_days, c.due) for c in found] == model(
        document, category, grade, assessments, flags, published
    )
    for consequence in found:
        assert consequence.reason.strip()
        assert "due" not in consequence.to_dict() or published is not None


def test_the_seeds_set_the_consequences_their_text_justifies() -> None:
    city = parse_rules(DOCUMENTS["seed000_city"])
    assert [(c.kind, c.grade, c.within_days) for c in city.consequences[:1]] == [
        ("rectify", "incompetent", 90)
    ]
    dazehu = parse_rules(DOCUMENTS["seed002_dazehu"])
    by_assessment = [
        (c.kind, c.values) for c in dazehu.consequences if c.assessment == "party_building"
    ]
    assert by_assessment == [
        ("interview", ("average", "poor")),
        ("rectify", ("average", "poor")),
    ]
    for rules in (city, dazehu):
        assert [c.cross_year for c in rules.consequences if c.kind == "disposal_review"] == [
            "disposal_review"
        ]
