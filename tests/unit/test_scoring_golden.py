"""Golden scenarios for DESIGN §5, with the exact arithmetic written out.

Unless a test says otherwise: scale 100; dimensions 德 (morality) 0.4 and 绩
(performance) 0.6; choices excellent 95, competent 80, incompetent 50; grades
excellent (≥85, at most a share of the category), competent (≥60), incompetent.
"""

import json
from fractions import Fraction as F
from pathlib import Path

import pytest

from domain.errors import RuleViolation
from domain.rules import Rules, parse_rules
from domain.scoring import (
    COMPLETE,
    INCOMPLETE,
    Appraisee,
    Ballot,
    BallotValidity,
    Row,
    ScoringInput,
    check_ballot_shape,
    exact,
    format_score,
    score,
    tally,
    validate_ballot,
)

RULESETS = Path(__file__).resolve().parents[2] / "service" / "rulesets"

CHOICE_OF = {"ex": "excellent", "co": "competent", "in": "incompetent"}


def group(code, weight, form, min_ballots=1):
    return {"code": code, "weight": weight, "form": form, "min_ballots": min_ballots}


def make_rules(groups, share="0.25", **extra) -> Rules:
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
                {"code": "excellent", "label": "优秀", "min_score": "85", "max_share": share},
                {"code": "competent", "label": "称职", "min_score": "60"},
                {"code": "incompetent", "label": "不称职"},
            ],
            **extra,
        }
    )


def panel_rules(share="0.25", **extra) -> Rules:
    """One dimension_scores group 'panel' of weight 1."""
    return make_rules([group("panel", "1", "dimension_scores")], share, **extra)


def reps_rules(min_ballots=1, share="0.25", **extra) -> Rules:
    """One grade_choice group 'reps' of weight 1."""
    return make_rules([group("reps", "1", "grade_choice", min_ballots)], share, **extra)


def dims(ballot_id, group_code, voided=None, **rows) -> Ballot:
    """Rows as appraisee=(德, 绩) or appraisee="abstain"."""
    return Ballot(
        ballot_id,
        group_code,
        tuple(
            Row(aid, abstain=True)
            if v == "abstain"
            else Row(aid, scores={"morality": v[0], "performance": v[1]})
            for aid, v in rows.items()
        ),
        voided=voided,
        signer=f"key-{ballot_id}",
    )


def flat(value):
    """Equal 德 and 绩 scores: the row score is the value itself (0.4v + 0.6v)."""
    return (value, value)


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


def people(*ids, category="cadre"):
    return [Appraisee(aid, category) for aid in ids]


def run(rules, appraisees, ballots, **kw):
    return score(ScoringInput(rules, appraisees, ballots, **kw))


def grades_of(outcome):
    return {r.appraisee_id: r.grade for r in outcome.results}


def ranks_of(outcome):
    return {r.appraisee_id: r.rank for r in outcome.results}


# -- quotas and ties ---------------------------------------------------------------------


def test_quota_boundary_inside_a_tie_grants_nobody_in_the_tie():
    # N = 8, excellent quota = floor(0.25 × 8) = 2.
    # Scores (one panel row each, 德 = 绩): a 92 | b 90, c 90 | d 88 | e 70 | f 65 | g 55 | h 40.
    # Ranks 1, 2, 2, 4, 5, 6, 7, 8.  Excellent candidates (≥85): a, b, c, d.
    # a takes place 1; b and c would need places 2 and 3 > 2, so neither gets it (quota_tie),
    # and d, ranked below the tie, is not considered either.
    outcome = run(
        panel_rules(),
        people(*"abcdefgh"),
        [
            dims(
                "p1",
                "panel",
                a=flat(92),
                b=flat(90),
                c=flat(90),
                d=flat(88),
                e=flat(70),
                f=flat(65),
                g=flat(55),
                h=flat(40),
            )
        ],
    )
    assert ranks_of(outcome) == dict(a=1, b=2, c=2, d=4, e=5, f=6, g=7, h=8)
    assert grades_of(outcome) == dict(
        a="excellent",
        b="competent",
        c="competent",
        d="competent",
        e="competent",
        f="competent",
        g="incompetent",
        h="incompetent",
    )
    assert outcome.result("b").flags == ("quota_tie",)
    assert outcome.result("c").flags == ("quota_tie",)
    assert outcome.result("d").flags == ()
    excellent, competent, incompetent = outcome.quota_decisions
    assert (excellent.grade, excellent.quota) == ("excellent", 2)
    assert excellent.candidates == ("a", "b", "c", "d")
    assert excellent.granted == ("a",)
    assert excellent.tied == ("b", "c")
    assert "floor(0.25 × 8) = 2" in excellent.reason
    assert competent.granted == ("b", "c", "d", "e", "f")
    assert competent.quota is None
    assert incompetent.granted == ("g", "h")
    assert incompetent.reason == "the last grade takes everyone left"


def test_shared_ranks_use_competition_ranking():
    # a 90, b 90, d 90, c 70: ranks 1, 1, 1, 4.  With max_share 1 the quota is 4 and all
    # three 90s are excellent.
    outcome = run(
        panel_rules(share="1"),
        people(*"abcd"),
        [dims("p1", "panel", a=flat(90), b=flat(90), c=flat(70), d=flat(90))],
    )
    assert ranks_of(outcome) == dict(a=1, b=1, d=1, c=4)
    assert grades_of(outcome) == dict(a="excellent", b="excellent", d="excellent", c="competent")
    assert [r.appraisee_id for r in outcome.results] == ["a", "b", "d", "c"]


def test_tie_break_resolves_a_tie():
    # leaders 0.5 (dimension_scores), reps 0.5 (grade_choice); N = 2, quota floor(0.5 × 2) = 1.
    # a: leaders 90, reps (80 + 80 + 80) / 3 = 80 → 0.5 × 90 + 0.5 × 80 = 85
    # b: leaders 80, reps (95 + 95 + 80) / 3 = 90 → 0.5 × 80 + 0.5 × 90 = 85
    groups = [group("leaders", "0.5", "dimension_scores"), group("reps", "0.5", "grade_choice")]
    ballots = [
        dims("l1", "leaders", a=flat(90), b=flat(80)),
        picks("r1", "reps", a="co", b="ex"),
        picks("r2", "reps", a="co", b="ex"),
        picks("r3", "reps", a="co", b="co"),
    ]
    # Without a tie-break: shared rank 1 inside the quota boundary, nobody is excellent.
    plain = run(make_rules(groups, share="0.5"), people("a", "b"), ballots)
    assert ranks_of(plain) == dict(a=1, b=1)
    assert grades_of(plain) == dict(a="competent", b="competent")
    assert plain.result("a").flags == ("quota_tie",)
    # With group:leaders as tie-break: a (90) ranks above b (80) and takes the one place.
    broken = run(
        make_rules(groups, share="0.5", tie_break=["group:leaders"]), people("a", "b"), ballots
    )
    assert broken.result("a").score == broken.result("b").score == 85
    assert ranks_of(broken) == dict(a=1, b=2)
    assert grades_of(broken) == dict(a="excellent", b="competent")
    assert broken.result("b").flags == ()


def test_missing_tie_break_group_sorts_lowest():
    # Renormalize; leaders 0.8, self 0.2.
    # a: 0.8 × 85 + 0.2 × 80 = 68 + 16 = 84.  b: no self ballot → leaders alone = 84.
    # Tie on 84; tie-break group:self puts a (80) above b (missing).
    rules = make_rules(
        [group("leaders", "0.8", "dimension_scores"), group("self", "0.2", "grade_choice")],
        aggregation={"missing_group": "renormalize"},
        tie_break=["group:self"],
    )
    outcome = run(
        rules,
        people("a", "b"),
        [dims("l1", "leaders", a=flat(85), b=flat(84)), picks("s1", "self", a="co")],
    )
    assert outcome.result("a").score == outcome.result("b").score == 84
    assert ranks_of(outcome) == dict(a=1, b=2)
    assert outcome.result("b").flags == ("missing_group:self", "renormalized")


# -- trimming, abstentions, missing groups -----------------------------------------------


def test_trimming_drops_highest_and_lowest_with_ties_broken_by_ballot_id():
    # trim 1 when a group has ≥ 5 rows.
    # a: r1 95, r2 95, r3 80, r4 80, r5 50 (5 rows) → drop lowest r5 (50) and highest r2 (the
    #    larger ballot id of the two 95s) → (95 + 80 + 80) / 3 = 255 / 3 = 85.
    # b: r5 abstains, leaving 4 rows < 5: no trimming → (95 + 80 + 80 + 50) / 4 = 305/4 = 76.25.
    rules = reps_rules(min_ballots=3, aggregation={"trim": 1, "trim_min_ballots": 5})
    ballots = [
        picks("r1", "reps", a="ex", b="ex"),
        picks("r2", "reps", a="ex", b="co"),
        picks("r3", "reps", a="co", b="co"),
        picks("r4", "reps", a="co", b="in"),
        picks("r5", "reps", a="in", b="abstain"),
    ]
    outcome = run(rules, people("a", "b"), ballots)
    a = outcome.result("a").groups["reps"]
    assert a.ballots == 5
    assert a.score == 85
    assert [r.ballot_id for r in a.rows_used] == ["r1", "r3", "r4"]
    assert [r.ballot_id for r in a.rows_trimmed] == ["r2", "r5"]
    b = outcome.result("b").groups["reps"]
    assert (b.ballots, b.score, exact(b.score)) == (4, F(305, 4), "305/4")
    assert b.rows_trimmed == ()
    assert [(r.ballot_id, r.reason) for r in b.rows_excluded] == [("r5", "abstain")]
    # Order of arrival does not matter.
    assert run(rules, people("b", "a"), ballots[::-1]).to_dict() == outcome.to_dict()


def test_abstentions_do_not_count_towards_min_ballots():
    # reps needs 2 rows; a has one scored row and two abstentions → reps missing → incomplete.
    outcome = run(
        reps_rules(min_ballots=2, share="1"),
        people("a", "b"),
        [
            picks("r1", "reps", a="ex", b="co"),
            picks("r2", "reps", a="abstain", b="co"),
            picks("r3", "reps", a="abstain", b="co"),
        ],
    )
    a = outcome.result("a")
    assert (a.status, a.score, a.rank, a.grade) == (INCOMPLETE, None, None, None)
    assert a.flags == ("missing_group:reps",)
    assert a.notes[0].reason == "1 scored row(s), 2 needed"
    assert [(r.ballot_id, r.reason) for r in a.groups["reps"].rows_excluded] == [
        ("r2", "abstain"),
        ("r3", "abstain"),
    ]
    assert outcome.result("b").status == COMPLETE
    assert outcome.tally["reps"]["abstentions"] == 2


MISSING_GROUPS = [
    group("leaders", "0.5", "dimension_scores", 2),
    group("reps", "0.3", "grade_choice", 3),
    group("self", "0.2", "grade_choice", 1),
]
# a: leaders  (0.4 × 90 + 0.6 × 80 = 84) and (0.4 × 80 + 0.6 × 90 = 86) → 85
#    reps     (95 + 95 + 80) / 3 = 90;   self: no ballot → missing
# b: leaders  70 and 70 → 70;  reps 80;  self 80
#    → 0.5 × 70 + 0.3 × 80 + 0.2 × 80 = 35 + 24 + 16 = 75
MISSING_BALLOTS = [
    dims("l1", "leaders", a=(90, 80), b=flat(70)),
    dims("l2", "leaders", a=(80, 90), b=flat(70)),
    picks("r1", "reps", a="ex", b="co"),
    picks("r2", "reps", a="ex", b="co"),
    picks("r3", "reps", a="co", b="co"),
    picks("s1", "self", b="co"),
]


def test_missing_group_blocks():
    rules = make_rules(MISSING_GROUPS, share="0.5", aggregation={"missing_group": "block"})
    outcome = run(rules, people("a", "b"), MISSING_BALLOTS)
    a = outcome.result("a")
    assert (a.status, a.score, a.rank, a.grade) == (INCOMPLETE, None, None, None)
    assert a.flags == ("missing_group:self",)
    assert a.groups["self"].missing and a.groups["self"].ballots == 0
    assert a.groups["leaders"].score == 85 and a.groups["reps"].score == 90
    assert a.weights == {}
    b = outcome.result("b")
    assert (b.status, b.score, b.rank, b.grade) == (COMPLETE, 75, 1, "competent")
    # The quota counts a too: floor(0.5 × 2) = 1.
    assert outcome.quota_decisions[0].quota == 1
    assert outcome.to_dict()["results"][1]["score"] is None


def test_missing_group_renormalizes():
    # a: weights leaders 0.5 / 0.8 = 5/8, reps 0.3 / 0.8 = 3/8
    #    → 5/8 × 85 + 3/8 × 90 = 425/8 + 270/8 = 695/8 = 86.875, shown "86.88" (half up).
    # Quota floor(0.5 × 2) = 1: a (86.875 ≥ 85, rank 1) is excellent.
    rules = make_rules(MISSING_GROUPS, share="0.5", aggregation={"missing_group": "renormalize"})
    outcome = run(rules, people("a", "b"), MISSING_BALLOTS)
    a = outcome.result("a")
    assert (a.status, a.score, a.rank, a.grade) == (COMPLETE, F(695, 8), 1, "excellent")
    assert a.weights == {"leaders": F(5, 8), "reps": F(3, 8)}
    assert a.flags == ("missing_group:self", "renormalized")
    shown = outcome.to_dict()["results"][0]
    assert (shown["score"], shown["score_exact"]) == ("86.88", "695/8")
    assert shown["weights"] == {"leaders": "5/8", "reps": "3/8"}
    assert outcome.result("b").score == 75


def test_renormalize_with_every_group_missing_is_incomplete():
    rules = reps_rules(aggregation={"missing_group": "renormalize"})
    outcome = run(rules, people("a", "b"), [picks("r1", "reps", b="co")])
    assert outcome.result("a").status == INCOMPLETE
    assert outcome.result("a").flags == ("missing_group:reps",)


# -- ballot validity and voiding ---------------------------------------------------------


def test_ballot_with_too_many_excellent_is_invalid():
    # At most 30% of a ballot's non-abstaining rows may be excellent.
    # r1: 1 of 4 = 25% → valid.      r2: 2 of 4 = 50% > 30% → invalid.
    # r3: 1 of 3 (b abstains) = 33⅓% > 30% → invalid.   r4: none → valid.
    # a: r1 95, r4 80 → 175/2 = 87.5;  b: r1 80, r4 80 → 80.
    rules = reps_rules(share="0.5", ballot_validity={"max_choice_share": {"excellent": "0.3"}})
    ballots = [
        picks("r1", "reps", a="ex", b="co", c="co", d="co"),
        picks("r2", "reps", a="ex", b="ex", c="co", d="co"),
        picks("r3", "reps", a="ex", b="abstain", c="co", d="co"),
        picks("r4", "reps", a="co", b="co", c="co", d="co"),
    ]
    roster = set("abcd")
    assert validate_ballot(rules, ballots[0], roster) == BallotValidity(True, None)
    assert validate_ballot(rules, ballots[1], roster) == BallotValidity(
        False, "excess_choice_share:excellent"
    )
    assert not validate_ballot(rules, ballots[2], roster).valid
    outcome = run(rules, people(*"abcd"), ballots)
    a = outcome.result("a")
    assert a.score == F(175, 2)
    assert [(r.ballot_id, r.reason) for r in a.groups["reps"].rows_excluded] == [
        ("r2", "invalid:excess_choice_share:excellent"),
        ("r3", "invalid:excess_choice_share:excellent"),
    ]
    assert outcome.result("b").score == 80
    assert outcome.tally["reps"] == {
        "cast": 4,
        "valid": 2,
        "invalid": 2,
        "voided": 0,
        "counted": 2,
        "abstentions": 0,
        "invalid_reasons": {"excess_choice_share:excellent": 2},
    }


def test_voided_ballot_changes_a_grade():
    # N = 2, quota floor(0.5 × 2) = 1.
    # All four ballots: a (95 + 80 + 80 + 95) / 4 = 350/4 = 87.5, b (95 + 95 + 95 + 50) / 4
    # = 335/4 = 83.75 → a excellent, b competent.
    # r4 voided by an upheld dispute: a (95 + 80 + 80) / 3 = 85, b (95 + 95 + 95) / 3 = 95
    # → b excellent, a competent (a is a candidate at 85 but the one place is taken).
    ballots = [
        picks("r1", "reps", a="ex", b="ex"),
        picks("r2", "reps", a="co", b="ex"),
        picks("r3", "reps", a="co", b="ex"),
        picks("r4", "reps", a="ex", b="in"),
    ]
    rules = reps_rules(min_ballots=2, share="0.5")
    before = run(rules, people("a", "b"), ballots)
    assert (before.result("a").score, before.result("b").score) == (F(175, 2), F(335, 4))
    assert grades_of(before) == dict(a="excellent", b="competent")

    ballots[3] = picks("r4", "reps", voided="dispute-7 upheld", a="ex", b="in")
    after = run(rules, people("a", "b"), ballots)
    assert (after.result("a").score, after.result("b").score) == (85, 95)
    assert grades_of(after) == dict(a="competent", b="excellent")
    assert [(r.ballot_id, r.reason) for r in after.result("a").groups["reps"].rows_excluded] == [
        ("r4", "voided:dispute-7 upheld")
    ]
    counts = after.tally["reps"]
    assert (counts["cast"], counts["valid"], counts["invalid"]) == (4, 4, 0)
    assert (counts["voided"], counts["counted"]) == (1, 3)


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


# -- indicator scores --------------------------------------------------------------------


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


def test_indicator_scores():
    # Σ points = 50, scale 100.
    # a, w1: (25 + 31/2) × 100 / 50 = 81/2 × 2 = 81;  w2: (30 + 20) × 100 / 50 = 100
    #    → mean (81 + 100) / 2 = 181/2 = 90.5
    # b, w1: (0 + 20) × 2 = 40;  w2: (15 + 10) × 2 = 50 → 45
    rules = parse_rules(INDICATOR_RULES)
    duty = [
        Ballot(
            "w1",
            "duty",
            (
                Row("a", indicators={"economy": 25, "party": F(31, 2)}),
                Row("b", indicators={"economy": 0, "party": 20}),
            ),
        ),
        Ballot(
            "w2",
            "duty",
            (
                Row("a", indicators={"economy": 30, "party": 20}),
                Row("b", indicators={"economy": 15, "party": 10}),
            ),
        ),
    ]
    outcome = run(rules, people("a", "b"), duty)
    a = outcome.result("a")
    assert [r.score for r in a.groups["duty"].rows_used] == [81, 100]
    assert a.score == F(181, 2)
    assert format_score(a.score) == "90.50"
    assert (a.grade, outcome.result("b").score, outcome.result("b").grade) == ("pass", 45, "fail")


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


# -- linked rules, cross-year flags, per-category quotas ---------------------------------


def test_two_years_incompetent_raises_disposal_review():
    # 40 < 60 → incompetent for a, b, c; d 90 with quota floor(1 × 4) = 4 → excellent.
    rules = panel_rules(
        share="1",
        cross_year=[{"flag": "disposal_review", "grade": "incompetent", "consecutive_years": 2}],
    )
    outcome = run(
        rules,
        people(*"abcd"),
        [dims("p1", "panel", a=flat(40), b=flat(40), c=flat(40), d=flat(90))],
        previous_grades={
            "a": ["competent", "incompetent"],  # last year incompetent → flag
            "b": ["incompetent", "competent"],  # last year competent → no flag
            "d": ["incompetent"],  # excellent this year → no flag
        },
    )
    assert outcome.result("a").flags == ("disposal_review",)
    assert outcome.result("a").notes[0].reason == "incompetent 2 years running"
    assert outcome.result("b").flags == ()
    assert outcome.result("c").flags == ()  # no history
    assert outcome.result("d").flags == ()


def seed002() -> Rules:
    return parse_rules(json.loads((RULESETS / "seed002_dazehu.json").read_text(encoding="utf-8")))


def test_seed002_per_category_quotas_linked_rule_and_disposal_flag():
    # Groups: work_group 0.4 (indicator_scores over 17 tasks, Σ points 100), street_leaders 0.2
    # and member_reps 0.4 (grade_choice).  Every leader and representative picks competent (80),
    # so an appraisee whose duty row awards each task points × r scores
    #   0.4 × 100r + 0.2 × 80 + 0.4 × 80 = 40r + 48.
    # secretaries: s1 r=1 → 88, s2 r=39/40 → 39 + 48 = 87, s3 r=19/20 → 86, s4 r=9/10 → 84,
    #              s5 r=4/5 → 80.  Quota floor(0.4 × 5) = 2 → s1, s2 excellent.
    #              s2's party-building debriefing is 较好, not 好 → capped to competent; the freed
    #              place is not handed on, so s3 stays competent.
    # cadres:      c1 88, c2 86, c3 r=1/2 → 68, c4 r=0 → 48.  Quota floor(0.3 × 4) = 1 → c1.
    #              c3 is basic (60 ≤ 68 < 70), c4 incompetent after incompetent last year.
    # task force:  t1 88, t2 87, t3 86.  Quota floor(0.4 × 3) = 1 → t1.
    # units:       u1 88, u2 87, u3 86, u4 r=1/5 → 56.  一类 quota floor(0.5 × 4) = 2 → u1, u2;
    #              u3 二类 (≥ 60), u4 三类.
    rules = seed002()
    ratio = {
        "s1": F(1),
        "s2": F(39, 40),
        "s3": F(19, 20),
        "s4": F(9, 10),
        "s5": F(4, 5),
        "c1": F(1),
        "c2": F(19, 20),
        "c3": F(1, 2),
        "c4": F(0),
        "t1": F(1),
        "t2": F(39, 40),
        "t3": F(19, 20),
        "u1": F(1),
        "u2": F(39, 40),
        "u3": F(19, 20),
        "u4": F(1, 5),
    }
    category = {"s": "secretary", "c": "cadre", "t": "task_force", "u": "unit"}
    appraisees = [Appraisee(aid, category[aid[0]]) for aid in ratio]
    indicators = rules.group("work_group").indicators
    duty = Ballot(
        "w1",
        "work_group",
        tuple(
            Row(aid, indicators={i.code: i.points * r for i in indicators})
            for aid, r in ratio.items()
        ),
    )
    everyone_competent = tuple(Row(aid, choice="competent") for aid in ratio)
    ballots = [duty]
    ballots += [Ballot(f"s{i}", "street_leaders", everyone_competent) for i in range(2)]
    ballots += [Ballot(f"m{i}", "member_reps", everyone_competent) for i in range(5)]
    outcome = run(
        rules,
        appraisees,
        ballots,
        assessments={
            "s1": {"party_building": "good"},
            "s2": {"party_building": "fairly_good"},
            "s3": {"party_building": "good"},
        },
        previous_grades={"c4": ["incompetent"]},
    )
    assert {aid: outcome.result(aid).score for aid in ratio} == {
        aid: 40 * r + 48 for aid, r in ratio.items()
    }
    assert grades_of(outcome) == {
        "s1": "excellent",
        "s2": "competent",
        "s3": "competent",
        "s4": "competent",
        "s5": "competent",
        "c1": "excellent",
        "c2": "competent",
        "c3": "basic",
        "c4": "incompetent",
        "t1": "excellent",
        "t2": "competent",
        "t3": "competent",
        "u1": "class_1",
        "u2": "class_1",
        "u3": "class_2",
        "u4": "class_3",
    }
    s2 = outcome.result("s2")
    assert s2.grade_before_rules == "excellent"
    assert s2.flags == ("linked_rule:party_building_not_good",)
    assert "fairly_good" in s2.notes[0].reason and "capped to competent" in s2.notes[0].reason
    assert outcome.result("s3").grade_before_rules == "competent"
    assert outcome.result("c1").flags == ()  # the linked rule is for secretaries only
    assert outcome.result("c4").flags == ("disposal_review",)
    quotas = {(d.category, d.grade): d.quota for d in outcome.quota_decisions}
    assert quotas[("secretary", "excellent")] == 2
    assert quotas[("cadre", "excellent")] == 1
    assert quotas[("task_force", "excellent")] == 1
    assert quotas[("unit", "class_1")] == 2
    assert [r.category for r in outcome.results] == sorted(r.category for r in outcome.results)
    assert exact(outcome.result("s2").score) == "87/1"


def test_linked_rule_caps_when_the_assessment_is_not_recorded():
    rules = seed002()
    appraisee = Appraisee("s1", "secretary")
    duty = {i.code: i.points for i in rules.group("work_group").indicators}
    ballots = [
        Ballot("w1", "work_group", (Row("s1", indicators=duty),)),
        *(Ballot(f"l{i}", "street_leaders", (Row("s1", choice="excellent"),)) for i in range(2)),
        *(Ballot(f"m{i}", "member_reps", (Row("s1", choice="competent"),)) for i in range(5)),
    ]
    # 0.4 × 100 + 0.2 × 95 + 0.4 × 80 = 40 + 19 + 32 = 91.
    # Alone, the secretary meets a quota of floor(0.4 × 1) = 0: no excellent at all.
    outcome = run(rules, [appraisee], ballots)
    assert outcome.result("s1").score == 91
    assert outcome.result("s1").grade == "competent"  # quota 0 of 1: never excellent
    assert outcome.quota_decisions[0].quota == 0
    # With three secretaries (two without ballots, incomplete, still counted in N) the quota is
    # floor(0.4 × 3) = 1; s1 gets it but has no recorded party-building grade: not 好.
    others = [Appraisee("s2", "secretary"), Appraisee("s3", "secretary")]
    outcome = run(rules, [appraisee, *others], ballots)
    s1 = outcome.result("s1")
    assert (s1.grade_before_rules, s1.grade) == ("excellent", "competent")
    assert "not recorded" in s1.notes[0].reason
    assert outcome.result("s2").status == INCOMPLETE


# -- input checks, display, canonical form -----------------------------------------------


def test_input_refusals():
    rules = reps_rules()
    ballot = picks("r1", "reps", a="co")
    with pytest.raises(RuleViolation):
        run(rules, people("a", "a"), [ballot])
    with pytest.raises(RuleViolation):
        run(rules, people("a"), [ballot, ballot])
    with pytest.raises(RuleViolation):
        run(seed002(), people("a", category="mayor"), [])
    with pytest.raises(RuleViolation):
        run(seed002(), people("a", category="cadre"), [], assessments={"a": {"party": "x"}})
    with pytest.raises(RuleViolation):
        run(rules, people("a"), [Ballot("x", "mayor", (Row("a", choice="competent"),))])


@pytest.mark.parametrize(
    "value, shown, exact_form",
    [
        (F(1747, 20), "87.35", "1747/20"),
        (F(695, 8), "86.88", "695/8"),
        (F(87), "87.00", "87/1"),
        (F(1, 200), "0.01", "1/200"),
        (F(1, 201), "0.00", "1/201"),
        (F(2, 3), "0.67", "2/3"),
        (F(100), "100.00", "100/1"),
        (F(-1, 200), "-0.01", "-1/200"),
    ],
)
def test_display_and_exact_forms(value, shown, exact_form):
    assert format_score(value) == shown
    assert exact(value) == exact_form


def test_to_dict_is_plain_json_and_explains_rows():
    outcome = run(
        panel_rules(share="0.5"),
        people("a", "b"),
        [
            Ballot(
                "p1",
                "panel",
                (Row("a", scores={"morality": 90, "performance": 85}),),
                signer="k1",
                position=7,
            ),
            Ballot("p2", "panel", (Row("b", abstain=True),), signer="k2", position=9),
        ],
    )
    data = outcome.to_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    first = data["results"][0]
    # a: 0.4 × 90 + 0.6 × 85 = 36 + 51 = 87.
    assert first["groups"]["panel"] == {
        "ballots": 1,
        "score": "87.00",
        "score_exact": "87/1",
        "missing": False,
        "rows_used": [{"ballot_id": "p1", "signer": "k1", "position": 7, "score_exact": "87/1"}],
        "rows_trimmed": [],
        "rows_excluded": [],
    }
    second = data["results"][1]
    assert second["status"] == "incomplete" and second["rank"] is None
    assert second["groups"]["panel"]["rows_excluded"] == [
        {"ballot_id": "p2", "signer": "k2", "position": 9, "reason": "abstain"}
    ]
