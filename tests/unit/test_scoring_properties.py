"""Properties of scoring over random campaigns: quotas hold, order never matters, every
appraisee gets exactly one well-formed result."""

import hashlib
import json
import math
from fractions import Fraction
from pathlib import Path

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.derivation import proposal_hash
from domain.rules import DIMENSION_SCORES, GRADE_CHOICE, Rules, parse_rules
from domain.scoring import (
    COMPLETE,
    INCOMPLETE,
    Appraisee,
    Ballot,
    Row,
    ScoringInput,
    score,
)

RULESETS = Path(__file__).resolve().parents[2] / "service" / "rulesets"


def small_rules(missing_group: str, trim: int) -> Rules:
    return parse_rules(
        {
            "scale": 100,
            "dimensions": [
                {"code": "morality", "weight": "0.4"},
                {"code": "performance", "weight": "0.6"},
            ],
            "groups": [
                {"code": "leaders", "weight": "0.5", "form": "dimension_scores", "min_ballots": 2},
                {"code": "reps", "weight": "0.3", "form": "grade_choice", "min_ballots": 2},
                {
                    "code": "duty",
                    "weight": "0.2",
                    "form": "indicator_scores",
                    "indicators": [
                        {"code": "economy", "points": "30"},
                        {"code": "party", "points": "20.5"},
                    ],
                },
            ],
            "choices": [
                {"code": "excellent", "score": "95"},
                {"code": "competent", "score": "80"},
                {"code": "incompetent", "score": "50"},
            ],
            "aggregation": {"trim": trim, "trim_min_ballots": 4, "missing_group": missing_group},
            "ballot_validity": {"max_choice_share": {"excellent": "0.4"}},
            "grades": [
                {"code": "excellent", "min_score": "70", "max_share": "0.25"},
                {"code": "good", "max_share": "0.5"},
                {"code": "competent", "min_score": "60"},
                {"code": "incompetent"},
            ],
            "categories": [
                {"code": "cadre"},
                {
                    "code": "unit",
                    "grades": [
                        {"code": "class_1", "max_share": "0.5"},
                        {"code": "class_2", "min_score": "60"},
                        {"code": "class_3"},
                    ],
                },
            ],
            "tie_break": ["group:leaders"],
            "assessments": [
                {"code": "pb", "values": [{"code": "good"}, {"code": "poor"}]},
            ],
            "linked_rules": [
                {
                    "code": "pb",
                    "category": "cadre",
                    "assessment": "pb",
                    "allowed": ["good"],
                    "cap_grade": "competent",
                    "reason": "not good",
                }
            ],
            "cross_year": [
                {"flag": "disposal_review", "grade": "incompetent", "consecutive_years": 2}
            ],
        }
    )


def tie_prone_rules() -> Rules:
    """One grade_choice group: few distinct scores, so ties at quota boundaries are common."""
    return parse_rules(
        {
            "scale": 10,
            "groups": [{"code": "reps", "weight": "1", "form": "grade_choice"}],
            "choices": [{"code": "yes", "score": "10"}, {"code": "no", "score": "0"}],
            "grades": [
                {"code": "excellent", "min_score": "8", "max_share": "0.3"},
                {"code": "competent", "min_score": "5", "max_share": "0.6"},
                {"code": "incompetent"},
            ],
        }
    )


def shipped(name: str) -> Rules:
    return parse_rules(json.loads((RULESETS / name).read_text(encoding="utf-8")))


ALL_RULES = [
    tie_prone_rules(),
    small_rules("block", 0),
    small_rules("renormalize", 0),
    small_rules("renormalize", 1),
    shipped("seed000_city.json"),
    shipped("seed002_dazehu.json"),
]
IDS = [f"p{i}" for i in range(10)]


@st.composite
def rows_for(draw, rules: Rules, group_code: str, ids: list[str]):
    """Mostly valid rows; now and then a fault that makes the ballot invalid."""
    group = rules.group(group_code)
    if draw(st.booleans()):
        chosen = list(ids)
    else:
        chosen = draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
    fault = draw(st.integers(0, 11))
    if fault == 0:
        chosen.append("ghost")
    elif fault == 1:
        chosen.append(chosen[0])
    score_value = st.integers(0, rules.scale)
    if fault == 2:
        score_value = st.sampled_from([-1, rules.scale + 1])
    # Choices capped per ballot (e.g. excellent ≤ 30 %) are drawn less often.
    capped = rules.ballot_validity.max_choice_share
    codes = [c.code for c in rules.choices for _ in range(1 if c.code in capped else 3)]
    choice = st.sampled_from([*codes, "bogus"] if fault == 3 else codes)
    rows = []
    for aid in chosen:
        if draw(st.integers(0, 9)) == 0:
            rows.append(Row(aid, abstain=True))
        elif group.form == DIMENSION_SCORES:
            rows.append(Row(aid, scores={d.code: draw(score_value) for d in rules.dimensions}))
        elif group.form == GRADE_CHOICE:
            rows.append(Row(aid, choice=draw(choice)))
        else:
            rows.append(
                Row(
                    aid,
                    indicators={
                        i.code: Fraction(draw(st.integers(0, int(i.points * 2))), 2)
                        for i in group.indicators
                    },
                )
            )
    return tuple(rows)


@st.composite
def campaigns(draw):
    rules = draw(st.sampled_from(ALL_RULES))
    ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=8, unique=True))
    categories = [c.code for c in rules.categories] or ["cadre"]
    appraisees = [Appraisee(aid, draw(st.sampled_from(categories))) for aid in ids]
    ballots = []
    for group in rules.groups:
        for _ in range(draw(st.integers(0, group.min_ballots + 3))):
            voided = draw(st.sampled_from([None] * 7 + ["dispute upheld"]))
            rows = draw(rows_for(rules, group.code, ids))
            n = len(ballots)
            ballots.append(Ballot(f"b{n:02d}", group.code, rows, voided=voided, position=n))
    values = [v.code for a in rules.assessments for v in a.values]
    assessments = {}
    if rules.assessments:
        for aid in draw(st.lists(st.sampled_from(ids), unique=True)):
            assessments[aid] = {rules.assessments[0].code: draw(st.sampled_from(values))}
    grade_codes = sorted({g.code for c in rules.categories for g in c.grades} | {"incompetent"})
    previous = {aid: draw(st.lists(st.sampled_from(grade_codes), max_size=3)) for aid in ids}
    return ScoringInput(rules, appraisees, ballots, assessments, previous)


@settings(max_examples=150, deadline=None)
@given(campaigns())
def test_grades_never_exceed_quotas(inp):
    outcome = score(inp)
    for category in {a.category for a in inp.appraisees}:
        members = [r for r in outcome.results if r.category == category]
        for grade in inp.rules.grades_for(category):
            if grade.max_share is None:
                continue
            quota = math.floor(grade.max_share * len(members))
            assert sum(r.grade_before_rules == grade.code for r in members) <= quota
            # Linked rules only ever cap to grades without a quota in these rule sets.
            assert sum(r.grade == grade.code for r in members) <= quota


@settings(max_examples=150, deadline=None)
@given(campaigns(), st.randoms(use_true_random=False))
def test_order_of_ballots_and_appraisees_never_matters(inp, rnd):
    ballots, appraisees = list(inp.ballots), list(inp.appraisees)
    rnd.shuffle(ballots)
    rnd.shuffle(appraisees)
    assessments = dict(reversed(list(inp.assessments.items())))
    shuffled = ScoringInput(inp.rules, appraisees, ballots, assessments, inp.previous_grades)
    assert score(shuffled).to_dict() == score(inp).to_dict()


@settings(max_examples=150, deadline=None)
@given(campaigns())
def test_every_appraisee_gets_exactly_one_well_formed_result(inp):
    outcome = score(inp)
    ids = [r.appraisee_id for r in outcome.results]
    assert sorted(ids) == sorted(a.appraisee_id for a in inp.appraisees)
    for result in outcome.results:
        assert result.status in (COMPLETE, INCOMPLETE)
        if result.status == COMPLETE:
            assert result.score is not None and result.rank is not None
            assert result.grade in {g.code for g in inp.rules.grades_for(result.category)}
            assert sum(result.weights.values()) == 1
        else:
            assert (result.score, result.rank, result.grade) == (None, None, None)
            assert any(flag.startswith("missing_group:") for flag in result.flags)
        assert list(result.flags) == sorted(set(result.flags))


@settings(max_examples=150, deadline=None)
@given(campaigns())
def test_scores_lie_within_the_scale_and_ranks_follow_scores(inp):
    outcome = score(inp)
    scale = inp.rules.scale
    for result in outcome.results:
        if result.score is not None:
            assert 0 <= result.score <= scale
        for group in result.groups.values():
            assert group.missing == (group.score is None)
            if group.score is not None:
                assert 0 <= group.score <= scale
    complete = [r for r in outcome.results if r.status == COMPLETE]
    for x in complete:
        for y in complete:
            if x.category == y.category and x.score > y.score:
                assert x.rank < y.rank


@settings(max_examples=150, deadline=None)
@given(campaigns())
def test_tally_reconciles(inp):
    counts = score(inp).tally
    assert set(counts) == {g.code for g in inp.rules.groups}
    assert sum(c["cast"] for c in counts.values()) == len(inp.ballots)
    for c in counts.values():
        assert c["cast"] == c["valid"] + c["invalid"]
        assert c["counted"] <= c["valid"] and c["voided"] <= c["cast"]
        assert sum(c["invalid_reasons"].values()) == c["invalid"]


@given(campaigns())
def test_the_streamed_proposal_hash_is_the_hash_of_the_whole_canonical_document(inp):
    outcome = score(inp)
    whole = hashlib.sha256(rfc8785.dumps(outcome.to_dict())).hexdigest()
    assert proposal_hash(outcome) == whole
    assert outcome.to_dict(results=False) | {"results": list(outcome.result_dicts())} == (
        outcome.to_dict()
    )
