"""Ballot classification (domain/ballots.py) one ballot at a time: malformed, invalid with
its reason code, and the reconciliation counts.  Whole scoring scenarios are the golden
files in tests/golden.

Rules unless a test says otherwise: scale 100; dimensions 德 (morality) 0.4 and 绩
(performance) 0.6; choices excellent 95, competent 80, incompetent 50.
"""

from fractions import Fraction as F

import pytest

from domain.errors import RuleViolation
from domain.rules import Rules, parse_rules
from domain.scoring import Ballot, BallotValidity, Row, check_ballot_shape, tally, validate_ballot

CHOICE_OF = {"ex": "excellent", "co": "competent", "in": "incompetent"}


def group(code, weight, form, min_ballots=1):
    return {"code": code, "weight": weight, "form": form, "min_ballots": min_ballots}


def make_rules(groups) -> Rules:
    return parse_rules(
        {
            "scale": 100,
            "dimensions": [
                {"code": "morality", "label": "德", "weight": "0.4"},
                {"code": "performance", "label": "绩", "weight": "0.6"},
            ],
            "choices": [
                {"code": "excellent", "label": "优秀", "score": "95"},
                {"code": "competent", "label": "称职", "score": "80"},
                {"code": "incompetent", "label": "不称职", "score": "50"},
            ],
            "groups": groups,
            "grades": [
                {"code": "excellent", "label": "优秀", "min_score": "85", "max_share": "0.25"},
                {"code": "competent", "label": "称职", "min_score": "60"},
                {"code": "incompetent", "label": "不称职"},
            ],
        }
    )


def panel_rules() -> Rules:
    """One dimension_scores group 'panel' of weight 1."""
    return make_rules([group("panel", "1", "dimension_scores")])


def reps_rules() -> Rules:
    """One grade_choice group 'reps' of weight 1."""
    return make_rules([group("reps", "1", "grade_choice")])


def picks(ballot_id, group_code, voided=None, **rows) -> Ballot:
    """Rows as appraisee="ex"/"co"/"in" or "abstain"."""
    return Ballot(
        ballot_id,
        group_code,
        tuple(
            Row(aid, abstain=True) if v == "abstain" else Row(aid, choice=CHOICE_OF[v])
            for aid, v in rows.items()
        ),
        voided=voided,
    )


@pytest.mark.parametrize(
    "rows, reason",
    [
        ((Row("zz", scores={"morality": 1, "performance": 1}),), "unknown_appraisee:zz"),
        (
            (
                Row("a", scores={"morality": 1, "performance": 1}),
                Row("a", scores={"morality": 2, "performance": 2}),
            ),
            "duplicate_row:a",
        ),
        ((Row("a", scores={"morality": 1}),), "missing_dimension:performance"),
        (
            (Row("a", scores={"morality": 1, "performance": 1, "charm": 1}),),
            "unknown_dimension:charm",
        ),
        ((Row("a", scores={"morality": 101, "performance": 1}),), "score_out_of_range:morality"),
        ((Row("a", scores={"morality": -1, "performance": 1}),), "score_out_of_range:morality"),
        (
            (Row("a", scores={"morality": F(1, 2), "performance": 1}),),
            "score_not_integer:morality",
        ),
        ((Row("a", scores={"morality": True, "performance": 1}),), "score_not_integer:morality"),
    ],
)
def test_invalid_dimension_ballots(rows, reason):
    ballot = Ballot("b1", "panel", rows)
    assert validate_ballot(panel_rules(), ballot, {"a"}) == BallotValidity(False, reason)


@pytest.mark.parametrize(
    "group_code, rows",
    [
        ("mayor", (Row("a", choice="excellent"),)),
        ("panel", ()),
        ("panel", (Row("a", choice="excellent"),)),
        ("panel", (Row("a"),)),
        ("panel", (Row("a", scores={"morality": 1, "performance": 1}, abstain=True),)),
        ("reps", (Row("a", scores={"morality": 1, "performance": 1}),)),
        ("reps", (Row("a", choice="excellent", indicators={}),)),
        ("reps", (Row("", choice="excellent"),)),
        ("reps", (Row("a", choice=3),)),  # type: ignore[arg-type]
    ],
)
def test_malformed_ballots_are_refused(group_code, rows):
    rules = make_rules(
        [group("panel", "0.5", "dimension_scores"), group("reps", "0.5", "grade_choice")]
    )
    with pytest.raises(RuleViolation):
        check_ballot_shape(rules, group_code, rows)
    with pytest.raises(RuleViolation):
        validate_ballot(rules, Ballot("b1", group_code, rows), {"a"})


def test_unknown_choice_is_invalid_not_malformed():
    ballot = Ballot("b1", "reps", (Row("a", choice="superb"),))
    assert validate_ballot(reps_rules(), ballot, {"a"}) == BallotValidity(
        False, "unknown_choice:superb"
    )


def test_tally_without_roster_and_reconciliation():
    rules = reps_rules()
    ballots = [
        picks("r1", "reps", a="ex", b="abstain"),
        picks("r2", "reps", voided="upheld", a="co"),
        Ballot("r3", "reps", (Row("a", choice="nope"),)),
    ]
    counts = tally(rules, ballots)["reps"]
    assert counts["cast"] == counts["valid"] + counts["invalid"] == 3
    assert (counts["voided"], counts["counted"], counts["abstentions"]) == (1, 1, 1)
    assert counts["invalid_reasons"] == {"unknown_choice:nope": 1}
    with pytest.raises(RuleViolation):
        tally(rules, [ballots[0], ballots[0]])


INDICATOR_RULES = {
    "scale": 100,
    "groups": [
        {
            "code": "duty",
            "label": "履职情况调查核实",
            "weight": "1",
            "form": "indicator_scores",
            "indicators": [
                {"code": "economy", "label": "经济指标", "points": "30"},
                {"code": "party", "label": "基层组织建设", "points": "20"},
            ],
        }
    ],
    "grades": [{"code": "pass", "min_score": "60"}, {"code": "fail"}],
}


@pytest.mark.parametrize(
    "awarded, reason",
    [
        ({"economy": 31, "party": 0}, "points_out_of_range:economy"),
        ({"economy": F(-1, 2), "party": 0}, "points_out_of_range:economy"),
        ({"economy": 1}, "missing_indicator:party"),
        ({"economy": 1, "party": 1, "extra": 1}, "unknown_indicator:extra"),
        ({"economy": "3", "party": 1}, "points_not_exact:economy"),
    ],
)
def test_invalid_indicator_rows(awarded, reason):
    ballot = Ballot("w1", "duty", (Row("a", indicators=awarded),))
    assert validate_ballot(parse_rules(INDICATOR_RULES), ballot, {"a"}) == BallotValidity(
        False, reason
    )
