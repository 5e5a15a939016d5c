"""Unit and property tests for the seed rules of issue 13 (items 1, 3, 4, 5, 8, 10)."""

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ballots import Ballot, BallotValidity, Row, validate_ballot
from domain.errors import RulesInvalid, RuleViolation
from domain.report import count_chars, count_words
from domain.rules import parse_rules
from domain.scoring import Appraisee, ScoringInput, as_approved, cross_year_notes, score

REPS = {
    "scale": 100,
    "groups": [{"code": "reps", "weight": "1", "form": "grade_choice"}],
    "choices": [{"code": "good", "score": "90"}, {"code": "fair", "score": "60"}],
    "grades": [{"code": "top", "min_score": "80"}, {"code": "rest"}],
}


def test_validity_is_judged_against_the_ballots_meeting_not_the_roster() -> None:
    rules = parse_rules(REPS)
    rows = (Row("a", choice="good"), Row("b", choice="good"))
    roster = {"a", "b"}
    assert validate_ballot(rules, Ballot("x", "reps", rows), roster).valid
    judged = validate_ballot(rules, Ballot("x", "reps", rows, appraisees=frozenset("a")), roster)
    assert judged == BallotValidity(False, "unknown_appraisee:b")


def test_scoring_leaves_out_a_ballot_naming_someone_its_meeting_did_not_appraise() -> None:
    rules = parse_rules(REPS)
    meeting_ab, meeting_b = frozenset("ab"), frozenset("b")
    ballots = [
        Ballot(
            "1", "reps", (Row("a", choice="good"), Row("b", choice="good")), appraisees=meeting_ab
        ),
        Ballot(
            "2", "reps", (Row("a", choice="fair"), Row("b", choice="fair")), appraisees=meeting_b
        ),
    ]
    outcome = score(
        ScoringInput(rules, [Appraisee("a", "cadre"), Appraisee("b", "cadre")], ballots)
    )
    assert outcome.result("a").groups["reps"].ballots == 1
    assert outcome.result("a").score == 90
    assert outcome.tally["reps"]["invalid_reasons"] == {"unknown_appraisee:a": 1}


@pytest.mark.parametrize(
    ("grade", "path"),
    [
        ({"code": "top", "min_score": "80", "advisory": True}, "/grades/0/advisory"),
        ({"code": "top", "max_share": "0.5", "advisory": "yes"}, "/grades/0/advisory"),
        ({"code": "top", "max_share": "0.5", "advisory": 1}, "/grades/0/advisory"),
    ],
)
def test_only_a_quota_can_be_advisory_and_only_by_a_boolean(
    grade: dict[str, Any], path: str
) -> None:
    with pytest.raises(RulesInvalid) as raised:
        parse_rules({**REPS, "grades": [grade, {"code": "rest"}]})
    assert raised.value.details["path"] == path


def test_an_advisory_quota_still_binds_the_computed_grades() -> None:
    rules = parse_rules(
        {
            **REPS,
            "grades": [{"code": "top", "max_share": "0.5", "advisory": True}, {"code": "rest"}],
        }
    )
    ballots = [Ballot("1", "reps", tuple(Row(a, choice="good") for a in "abcd"))]
    people = [Appraisee(a, "cadre") for a in "abcd"]
    outcome = score(ScoringInput(rules, people, ballots))
    assert [r.grade for r in outcome.results].count("top") == 0  # a four-way tie for 2 places
    assert rules.grades[0].quota(4) == 2


CROSS_YEAR = {
    **REPS,
    "grades": [
        {"code": "top", "min_score": "80"},
        {"code": "mid", "min_score": "50"},
        {"code": "low"},
    ],
    "cross_year": [{"flag": "disposal_review", "grade": "low", "consecutive_years": 2}],
    "consequences": [
        {"kind": "rectify", "grade": "low", "within_days": 30},
        {"kind": "disposal_review", "cross_year": "disposal_review"},
    ],
}


@given(
    computed=st.sampled_from(["top", "mid", "low"]),
    approved=st.sampled_from(["top", "mid", "low"]),
    previous=st.lists(st.sampled_from(["top", "mid", "low"]), max_size=3),
)
def test_the_cross_year_flag_follows_the_approved_grade(
    computed: str, approved: str, previous: list[str]
) -> None:
    rules = parse_rules(CROSS_YEAR)
    proposed = {
        "appraisee_id": "a",
        "category": "cadre",
        "grade": computed,
        "flags": ["quota_tie"],
        "notes": [{"flag": "quota_tie", "reason": "tied"}],
        "previous_grades": previous,
    }
    flagged = cross_year_notes(rules, "cadre", computed, previous)
    proposed["flags"] = sorted(["quota_tie", *(n.flag for n in flagged)])
    proposed["notes"] = sorted(
        [*proposed["notes"], *({"flag": n.flag, "reason": n.reason} for n in flagged)],
        key=lambda n: n["flag"],
    )
    result = as_approved(rules, proposed, {"grade": approved, "reason": "研究确定"}, {})
    expected = approved == "low" and previous[-1:] == ["low"]  # the model: two years running
    assert result["grade"] == approved
    assert ("disposal_review" in result["flags"]) is expected
    # the consequences follow the approved grade too: 限期整改 for low, and the flag's review
    kinds = [c["kind"] for c in result["consequences"]]
    assert kinds == ["rectify"] * (approved == "low") + ["disposal_review"] * expected
    assert "quota_tie" in result["flags"]  # other flags stay
    assert [n["flag"] for n in result["notes"]] == result["flags"]


HAN = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
KANA_HANGUL_EXT = st.sampled_from(["か", "カ", "한", "𠀀", "㐀", "豈"])
LATIN_RUN = st.text(alphabet="abcXYZ0189éß", min_size=1, max_size=8)
SEPARATOR = st.text(alphabet=" \t\n，。、！？—-,.;:()《》“”", min_size=1, max_size=3)


@given(
    tokens=st.lists(st.one_of(HAN, KANA_HANGUL_EXT, LATIN_RUN), max_size=40),
    separators=st.lists(SEPARATOR, min_size=41, max_size=41),
)
def test_count_words_counts_each_cjk_character_and_each_latin_word(
    tokens: list[str], separators: list[str]
) -> None:
    text = "".join(sep + token for sep, token in zip(separators, tokens, strict=False))
    assert count_words(text) == len(tokens)  # the model: one word per token
    assert count_chars(text) == sum(1 for ch in text if ch not in " \t\n")


def test_cjk_text_needs_no_spaces_to_be_counted() -> None:
    assert count_words("社区干部" * 750) == 3000
    assert count_words("2021年度考核") == 5
    assert count_words("，。——!") == 0


def linked(freed_place: str, max_share: str) -> dict[str, Any]:
    return {
        "scale": 100,
        "groups": [{"code": "reps", "weight": "1", "form": "grade_choice"}],
        "choices": [{"code": f"c{i}", "score": str(10 * i)} for i in range(10)],
        "grades": [
            {"code": "top", "min_score": "30", "max_share": max_share},
            {"code": "mid", "min_score": "10"},
            {"code": "low"},
        ],
        "assessments": [{"code": "duty", "values": [{"code": "good"}, {"code": "poor"}]}],
        "linked_rules": [
            {
                "code": "duty_not_good",
                "assessment": "duty",
                "allowed": ["good"],
                "cap_grade": "mid",
                "reason": "not good",
                "freed_place": freed_place,
            }
        ],
    }


@given(
    marks=st.lists(st.integers(0, 9), min_size=1, max_size=10, unique=True),
    poor=st.sets(st.integers(0, 9)),
    freed_place=st.sampled_from(["left_empty", "next_in_rank"]),
    max_share=st.sampled_from(["0.1", "0.3", "0.5", "1"]),
)
def test_a_freed_place_is_left_empty_or_passed_on_as_declared(
    marks: list[int], poor: set[int], freed_place: str, max_share: str
) -> None:
    rules = parse_rules(linked(freed_place, max_share))
    people = [Appraisee(f"p{m}", "cadre") for m in marks]
    ballot = Ballot("1", "reps", tuple(Row(f"p{m}", choice=f"c{m}") for m in marks))
    values = {f"p{m}": {"duty": "poor" if m in poor else "good"} for m in marks}
    outcome = score(ScoringInput(rules, people, [ballot], assessments=values))
    quota = int(Fraction(max_share) * len(marks))
    ranked = sorted((m for m in marks if m >= 3), reverse=True)  # the model: distinct scores
    if freed_place == "next_in_rank":
        expected = [m for m in ranked if m not in poor][:quota]
    else:
        expected = [m for m in ranked[:quota] if m not in poor]
    top = sorted(
        (int(r.appraisee_id[1:]) for r in outcome.results if r.grade == "top"), reverse=True
    )
    assert top == expected
    for r in outcome.results:
        if quota == 0 and int(r.appraisee_id[1:]) in ranked and freed_place == "left_empty":
            assert "quota_floor_zero" in r.flags


def test_without_categories_only_the_default_category_is_known() -> None:
    assert parse_rules(REPS).category_codes == ("cadre",)
    units = parse_rules({**REPS, "default_category": "unit"})
    assert (units.has_category("unit"), units.has_category("cadre")) == (True, False)
    with pytest.raises(RuleViolation):
        score(ScoringInput(units, [Appraisee("a", "cader")], []))


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({**REPS, "default_category": "a b"}, "/default_category"),
        ({**REPS, "default_category": "x", "categories": [{"code": "x"}]}, "/default_category"),
        (
            {
                **REPS,
                "cross_year": [
                    {"flag": "f", "grade": "rest", "consecutive_years": 2, "category": "unit"}
                ],
            },
            "/cross_year/0/category",
        ),
        (
            {**REPS, "reports": {"parts": [{"code": "p", "categories": ["secretary"]}]}},
            "/reports/parts/0/categories/0",
        ),
    ],
)
def test_a_category_named_anywhere_must_be_one_the_rules_know(
    document: dict[str, Any], path: str
) -> None:
    with pytest.raises(RulesInvalid) as raised:
        parse_rules(document)
    assert raised.value.details["path"] == path
