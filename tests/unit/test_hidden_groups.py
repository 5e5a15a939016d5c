"""No read reveals a hidden group (DESIGN §7, issue 15): over random floors, weights,
ballot counts and group scores, what each role's results read shows leaves every group
below its floor with at least two possible scores, however the visible fields (groups'
scores, the exact or rounded total) are combined. Before the rule, the exact total and
the visible groups pinned it: hidden = (total − Σ visible weight × score) / weight."""

import json
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.roles import ROLES
from domain.scoring import format_score
from projections.access import hidden
from projections.queries import result_json

TOP = Fraction(100)  # group scores lie in [0, 100]
HALF_CENT = Fraction(1, 200)


@st.composite
def results(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, int], dict[str, Fraction]]:
    """A `results` row with 2–5 groups, their floors and their weights."""
    count = draw(st.integers(2, 5))
    codes = [f"g{i}" for i in range(count)]
    weights = {c: Fraction(draw(st.integers(1, 10)), 10) for c in codes}
    floors = {c: draw(st.integers(1, 8)) for c in codes}
    groups: dict[str, dict[str, Any]] = {}
    for code in codes:
        ballots = draw(st.integers(0, 10))
        score = Fraction(draw(st.integers(0, 10_000)), draw(st.integers(1, 100))) % (TOP + 1)
        score = min(score, TOP)
        groups[code] = {
            "ballots": ballots,
            "score": format_score(score) if ballots else None,
            "score_exact": str(score) if ballots else None,
            "missing": not ballots,
        }
    present = [c for c in codes if groups[c]["ballots"]]
    total = (
        sum(weights[c] * Fraction(groups[c]["score_exact"]) for c in present)
        / sum(weights[c] for c in present)
        if present
        else None
    )
    row = {
        "appraisee_id": "00000000-0000-0000-0000-000000000001",
        "category": "cadre",
        "status": "complete" if present else "incomplete",
        "score": None if total is None else format_score(total),
        "score_exact": None if total is None else str(total),
        "rank": 1,
        "grade": "competent",
        "flags": "[]",
        "consequences": "[]",
        "group_scores": json.dumps(groups),
        "adjustment_grade": None,
    }
    return row, floors, weights


def possible_scores(
    shown: dict[str, Any], row: dict[str, Any], weights: dict[str, Fraction], target: str
) -> tuple[Fraction, Fraction]:
    """The interval of scores for group `target` consistent with what `shown` tells: the
    groups it shows are known, the others anywhere in [0, 100], the total known exactly,
    to the cent, or not at all."""
    present = [c for c, g in json.loads(row["group_scores"]).items() if g["ballots"]]
    norm = sum(weights[c] for c in present)
    share = {c: weights[c] / norm for c in present}
    if shown["score_exact"] is not None:
        low = high = Fraction(shown["score_exact"])
    elif shown["score"] is not None:
        low, high = Fraction(shown["score"]) - HALF_CENT, Fraction(shown["score"]) + HALF_CENT
    else:
        return Fraction(0), TOP
    known = sum(
        share[c] * Fraction(shown["groups"][c]["score_exact"])
        for c in present
        if "score_exact" in shown["groups"][c]
    )
    unknown = [c for c in present if "score_exact" not in shown["groups"][c] and c != target]
    slack = sum(share[c] for c in unknown) * TOP
    least = (low - known - slack) / share[target]
    most = (high - known) / share[target]
    return max(least, Fraction(0)), min(most, TOP)


@settings(max_examples=300, deadline=None)
@given(results(), st.sampled_from(sorted(ROLES)))
def test_no_role_can_pin_down_a_hidden_group(drawn: Any, role: str) -> None:
    row, floors, weights = drawn
    shown = result_json(row, floors, [role], {}, None)
    stored = json.loads(row["group_scores"])
    below = [
        c for c, g in stored.items() if g["ballots"] and hidden(g["ballots"], floors[c], [role])
    ]
    if not below:
        assert shown["score_exact"] == row["score_exact"]
        return
    assert shown["score_exact"] is None
    assert all(g == {"hidden": True} for g in shown["groups"].values())
    for code in below:
        least, most = possible_scores(shown, row, weights, code)
        assert least < most, f"{code} is pinned to {least}"
