"""Rules schema v1: every refusal names its place; the shipped rule files parse."""

import copy
import json
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import RulesInvalid, RuleViolation
from domain.rules import SELF_GROUP, Quorum, check_self_rating, parse_decimal, parse_rules

RULESETS = Path(__file__).resolve().parents[2] / "service" / "rulesets"

BASE = {
    "scale": 100,
    "dimensions": [
        {"code": "morality", "label": "德", "weight": "0.2"},
        {"code": "ability", "label": "能", "weight": "0.2"},
        {"code": "diligence", "label": "勤", "weight": "0.2"},
        {"code": "performance", "label": "绩", "weight": "0.2"},
        {"code": "integrity", "label": "廉", "weight": "0.2"},
    ],
    "groups": [
        {"code": "self", "weight": "0.10", "form": "grade_choice", "min_ballots": 1},
        {"code": "city_leaders", "weight": "0.10", "form": "grade_choice"},
        {
            "code": "leading_group",
            "label": "考核领导小组",
            "weight": "0.45",
            "anonymous": False,
            "form": "dimension_scores",
            "min_ballots": 3,
        },
        {"code": "unit_rep", "weight": "0.10", "anonymous": True, "form": "grade_choice"},
        {
            "code": "resident_rep",
            "label": "社区居民代表",
            "weight": "0.25",
            "anonymous": True,
            "form": "grade_choice",
            "min_ballots": 5,
        },
    ],
    "choices": [
        {"code": "excellent", "label": "优秀", "score": "95"},
        {"code": "competent", "label": "称职", "score": "80"},
        {"code": "incompetent", "label": "不称职", "score": "50"},
    ],
    "aggregation": {"trim": 0, "trim_min_ballots": 7, "missing_group": "block"},
    "ballot_validity": {"max_choice_share": {"excellent": "0.3"}},
    "grades": [
        {"code": "excellent", "label": "优秀", "min_score": "85", "max_share": "0.15"},
        {"code": "competent", "label": "称职", "min_score": "60"},
        {"code": "incompetent", "label": "不称职"},
    ],
    "tie_break": ["group:leading_group"],
    "quorum": {"min_share": {"resident_rep": "0.4"}, "min_count": {"unit_rep": 3}},
    "approval": {"min_signatures": 1},
    "categories": [
        {"code": "secretary", "label": "书记"},
        {
            "code": "unit",
            "label": "村(社区)",
            "grades": [
                {"code": "class_1", "label": "一类", "max_share": "0.5"},
                {"code": "class_2", "label": "二类", "min_score": "60"},
                {"code": "class_3", "label": "三类"},
            ],
        },
    ],
    "assessments": [
        {
            "code": "party_building",
            "values": [{"code": "good", "label": "好"}, {"code": "fairly_good"}],
        }
    ],
    "linked_rules": [
        {
            "code": "pb",
            "category": "secretary",
            "assessment": "party_building",
            "allowed": ["good"],
            "cap_grade": "competent",
            "reason": "未达到“好”的不得评定为“优秀”",
        }
    ],
    "cross_year": [{"flag": "disposal_review", "grade": "incompetent", "consecutive_years": 2}],
    "reports": {
        "max_chars": 2000,
        "parts": [{"code": "party_building_duty", "categories": ["secretary"]}],
    },
}


def base() -> dict:
    return copy.deepcopy(BASE)


def indicator_group(**extra) -> dict:
    return {
        "code": "work_group",
        "weight": "0.10",
        "form": "indicator_scores",
        "indicators": [{"code": "economy", "points": "60"}, {"code": "party", "points": "40"}],
        **extra,
    }


def with_indicator_group(doc: dict, **extra) -> dict:
    doc["groups"][1] = indicator_group(**extra)
    return doc


def set_path(doc: dict, path: str, value) -> dict:
    *parents, last = path.strip("/").split("/")
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


def delete(doc: dict, *keys) -> dict:
    node = doc
    for key in keys[:-1]:
        node = node[key]
    del node[keys[-1]]
    return doc


def ok(doc: dict):
    return parse_rules(doc)


CASES = {
    # structure
    "unknown top-level key": (lambda d: {**d, "bonus": 1}, "/bonus"),
    "unknown nested key": (lambda d: set_path(d, "/groups/0/colour", "red"), "/groups/0/colour"),
    "missing scale": (lambda d: delete(d, "scale"), "/scale"),
    "missing groups": (lambda d: delete(d, "groups"), "/groups"),
    "missing grades": (lambda d: delete(delete(d, "grades"), "categories"), "/grades"),
    "missing grades for a category": (lambda d: delete(d, "grades"), "/grades"),
    "missing dimensions": (lambda d: delete(d, "dimensions"), "/dimensions"),
    "version 2": (lambda d: {**d, "version": 2}, "/version"),
    # numbers: decimal strings, ints only where the schema says int
    "float group weight": (lambda d: set_path(d, "/groups/2/weight", 0.45), "/groups/2/weight"),
    "int group weight": (lambda d: set_path(d, "/groups/2/weight", 1), "/groups/2/weight"),
    "exponent weight": (
        lambda d: set_path(d, "/dimensions/1/weight", "2e-1"),
        "/dimensions/1/weight",
    ),
    "signed weight": (lambda d: set_path(d, "/groups/0/weight", "+0.10"), "/groups/0/weight"),
    "zero group weight": (lambda d: set_path(d, "/groups/0/weight", "0"), "/groups/0/weight"),
    "float threshold": (
        lambda d: set_path(d, "/grades/0/min_score", 85.0),
        "/grades/0/min_score",
    ),
    "float share": (lambda d: set_path(d, "/grades/0/max_share", 0.15), "/grades/0/max_share"),
    "string scale": (lambda d: {**d, "scale": "100"}, "/scale"),
    "float scale": (lambda d: {**d, "scale": 100.0}, "/scale"),
    "string min_ballots": (
        lambda d: set_path(d, "/groups/2/min_ballots", "3"),
        "/groups/2/min_ballots",
    ),
    "boolean min_ballots": (
        lambda d: set_path(d, "/groups/2/min_ballots", True),
        "/groups/2/min_ballots",
    ),
    "zero min_ballots": (
        lambda d: set_path(d, "/groups/2/min_ballots", 0),
        "/groups/2/min_ballots",
    ),
    # sums
    "dimension weights not 1": (
        lambda d: set_path(d, "/dimensions/4/weight", "0.21"),
        "/dimensions",
    ),
    "group weights not 1": (lambda d: set_path(d, "/groups/4/weight", "0.24"), "/groups"),
    # duplicates
    "duplicate dimension": (
        lambda d: set_path(d, "/dimensions/4/code", "morality"),
        "/dimensions/4/code",
    ),
    "duplicate group": (lambda d: set_path(d, "/groups/1/code", "self"), "/groups/1/code"),
    "duplicate choice": (
        lambda d: set_path(d, "/choices/2/code", "excellent"),
        "/choices/2/code",
    ),
    "duplicate grade": (lambda d: set_path(d, "/grades/1/code", "excellent"), "/grades/1/code"),
    "duplicate category": (
        lambda d: set_path(d, "/categories/1/code", "secretary"),
        "/categories/1/code",
    ),
    "duplicate tie-break": (
        lambda d: {**d, "tie_break": ["group:self", "group:self"]},
        "/tie_break/1",
    ),
    # choices
    "grade_choice without choices": (lambda d: delete(d, "choices"), "/choices"),
    "choice without score": (lambda d: delete(d, "choices", 0, "score"), "/choices/0/score"),
    "choice above scale": (lambda d: set_path(d, "/choices/0/score", "101"), "/choices/0/score"),
    "negative choice": (lambda d: set_path(d, "/choices/2/score", "-5"), "/choices/2/score"),
    # tie-break
    "tie-break unknown group": (lambda d: {**d, "tie_break": ["group:mayor"]}, "/tie_break/0"),
    "tie-break unknown kind": (
        lambda d: {**d, "tie_break": ["group:self", "dimension:morality"]},
        "/tie_break/1",
    ),
    "tie-break without kind": (lambda d: {**d, "tie_break": ["self"]}, "/tie_break/0"),
    # grades
    "grades empty": (lambda d: {**d, "grades": []}, "/grades"),
    "min_score not decreasing": (
        lambda d: set_path(d, "/grades/1/min_score", "85"),
        "/grades/1/min_score",
    ),
    "min_score increasing": (
        lambda d: set_path(d, "/grades/1/min_score", "90"),
        "/grades/1/min_score",
    ),
    "min_score above scale": (
        lambda d: set_path(d, "/grades/0/min_score", "100.5"),
        "/grades/0/min_score",
    ),
    "last grade with min_score": (
        lambda d: set_path(d, "/grades/2/min_score", "0"),
        "/grades/2/min_score",
    ),
    "last grade with max_share": (
        lambda d: set_path(d, "/grades/2/max_share", "1"),
        "/grades/2/max_share",
    ),
    "middle grade with neither": (lambda d: delete(d, "grades", 1, "min_score"), "/grades/1"),
    "max_share zero": (lambda d: set_path(d, "/grades/0/max_share", "0"), "/grades/0/max_share"),
    "max_share above one": (
        lambda d: set_path(d, "/grades/0/max_share", "1.5"),
        "/grades/0/max_share",
    ),
    "category grades invalid": (
        lambda d: set_path(d, "/categories/1/grades/2/max_share", "0.5"),
        "/categories/1/grades/2/max_share",
    ),
    # ballot validity, quorum, aggregation, approval
    "validity unknown choice": (
        lambda d: set_path(d, "/ballot_validity/max_choice_share/superb", "0.3"),
        "/ballot_validity/max_choice_share/superb",
    ),
    "validity share float": (
        lambda d: set_path(d, "/ballot_validity/max_choice_share/excellent", 0.3),
        "/ballot_validity/max_choice_share/excellent",
    ),
    "validity group not grade_choice": (
        lambda d: set_path(d, "/ballot_validity/groups", ["leading_group"]),
        "/ballot_validity/groups/0",
    ),
    "quorum share unknown group": (
        lambda d: set_path(d, "/quorum/min_share/mayor", "0.4"),
        "/quorum/min_share/mayor",
    ),
    "quorum count unknown group": (
        lambda d: set_path(d, "/quorum/min_count/mayor", 3),
        "/quorum/min_count/mayor",
    ),
    "quorum count float": (
        lambda d: set_path(d, "/quorum/min_count/unit_rep", 3.0),
        "/quorum/min_count/unit_rep",
    ),
    "trim negative": (lambda d: set_path(d, "/aggregation/trim", -1), "/aggregation/trim"),
    "trim leaves nothing": (
        lambda d: set_path(d, "/aggregation/trim", 4),
        "/aggregation/trim_min_ballots",
    ),
    "missing_group unknown": (
        lambda d: set_path(d, "/aggregation/missing_group", "drop"),
        "/aggregation/missing_group",
    ),
    "min_signatures zero": (
        lambda d: set_path(d, "/approval/min_signatures", 0),
        "/approval/min_signatures",
    ),
    # extensions
    "unknown form": (lambda d: set_path(d, "/groups/0/form", "ranking"), "/groups/0/form"),
    "indicators missing": (
        lambda d: delete(with_indicator_group(d), "groups", 1, "indicators"),
        "/groups/1/indicators",
    ),
    "indicators on another form": (
        lambda d: set_path(d, "/groups/0/indicators", []),
        "/groups/0/indicators",
    ),
    "indicator zero points": (
        lambda d: set_path(with_indicator_group(d), "/groups/1/indicators/1/points", "0"),
        "/groups/1/indicators/1/points",
    ),
    "indicator float points": (
        lambda d: set_path(with_indicator_group(d), "/groups/1/indicators/0/points", 60.0),
        "/groups/1/indicators/0/points",
    ),
    "duplicate indicator": (
        lambda d: set_path(with_indicator_group(d), "/groups/1/indicators/1/code", "economy"),
        "/groups/1/indicators/1/code",
    ),
    "anonymity floor zero": (
        lambda d: set_path(d, "/groups/4/anonymity_floor", 0),
        "/groups/4/anonymity_floor",
    ),
    "linked rule unknown assessment": (
        lambda d: set_path(d, "/linked_rules/0/assessment", "ideology"),
        "/linked_rules/0/assessment",
    ),
    "linked rule unknown value": (
        lambda d: set_path(d, "/linked_rules/0/allowed", ["good", "average"]),
        "/linked_rules/0/allowed/1",
    ),
    "linked rule unknown cap": (
        lambda d: set_path(d, "/linked_rules/0/cap_grade", "basic"),
        "/linked_rules/0/cap_grade",
    ),
    "linked rule cap missing in a category": (
        lambda d: delete(d, "linked_rules", 0, "category"),
        "/linked_rules/0/cap_grade",
    ),
    "linked rule undeclared category": (
        lambda d: set_path(d, "/linked_rules/0/category", "mayor"),
        "/linked_rules/0/category",
    ),
    "linked rule without reason": (
        lambda d: delete(d, "linked_rules", 0, "reason"),
        "/linked_rules/0/reason",
    ),
    "cross-year unknown grade": (
        lambda d: set_path(d, "/cross_year/0/grade", "dreadful"),
        "/cross_year/0/grade",
    ),
    "cross-year zero years": (
        lambda d: set_path(d, "/cross_year/0/consecutive_years", 0),
        "/cross_year/0/consecutive_years",
    ),
    "report part undeclared category": (
        lambda d: set_path(d, "/reports/parts/0/categories", ["mayor"]),
        "/reports/parts/0/categories/0",
    ),
    "report max_chars zero": (lambda d: set_path(d, "/reports/max_chars", 0), "/reports/max_chars"),
    "assessment without values": (
        lambda d: set_path(d, "/assessments/0/values", []),
        "/assessments/0/values",
    ),
}


@pytest.mark.parametrize("mutate, path", CASES.values(), ids=CASES.keys())
def test_refusal_names_the_path(mutate, path):
    with pytest.raises(RulesInvalid) as caught:
        parse_rules(mutate(base()))
    assert caught.value.details["path"] == path
    assert caught.value.code == "rules-invalid"
    assert caught.value.message.startswith(f"{path}: ")


def test_document_not_an_object():
    with pytest.raises(RulesInvalid) as caught:
        parse_rules(["scale", 100])  # type: ignore[arg-type]
    assert caught.value.details["path"] == ""


def test_base_parses_with_exact_values():
    rules = ok(base())
    assert rules.scale == 100
    assert rules.group("leading_group").weight == Fraction(9, 20)
    assert sum(g.weight for g in rules.groups) == 1
    assert rules.grades[0].max_share == Fraction(3, 20)
    assert rules.grades[-1].min_score is None
    assert rules.quorum.min_count == {"unit_rep": 3}
    assert rules.aggregation.trim_min_ballots == 7


def test_defaults_for_optional_sections():
    doc = {
        "scale": 10,
        "groups": [{"code": "panel", "weight": "1", "form": "grade_choice"}],
        "choices": [{"code": "yes", "score": "10"}, {"code": "no", "score": "0"}],
        "grades": [{"code": "pass", "min_score": "5"}, {"code": "fail"}],
    }
    rules = parse_rules(doc)
    panel = rules.group("panel")
    assert (panel.label, panel.anonymous, panel.min_ballots, panel.anonymity_floor) == (
        "panel",
        False,
        1,
        1,
    )
    assert rules.aggregation.missing_group == "block"
    assert (rules.aggregation.trim, rules.aggregation.trim_min_ballots) == (0, 1)
    assert rules.min_signatures == 1
    assert rules.tie_break == ()
    assert rules.ballot_validity.groups == ("panel",)
    assert rules.category_codes == ("cadre",)
    assert rules.grades_for("cadre") == rules.grades
    with pytest.raises(RuleViolation):
        rules.grades_for("anything")  # without categories, only the default category


def test_trim_min_ballots_defaults_to_two_trims_plus_one():
    doc = base()
    doc["aggregation"] = {"trim": 2}
    assert parse_rules(doc).aggregation.trim_min_ballots == 5


def test_document_kept_verbatim_and_detached():
    doc = base()
    rules = parse_rules(doc)
    assert rules.document == BASE
    doc["scale"] = 5
    assert rules.document["scale"] == 100


def test_category_grades_override_and_inherit():
    rules = ok(base())
    assert [g.code for g in rules.grades_for("secretary")] == [
        "excellent",
        "competent",
        "incompetent",
    ]
    assert [g.code for g in rules.grades_for("unit")] == ["class_1", "class_2", "class_3"]
    assert rules.grades_for("unit")[0].min_score is None
    with pytest.raises(RuleViolation):
        rules.grades_for("mayor")
    assert rules.has_category("unit") and not rules.has_category("mayor")


def test_grade_may_rely_on_max_share_alone_before_thresholds():
    doc = base()
    doc["grades"] = [
        {"code": "top", "max_share": "0.5"},
        {"code": "excellent", "min_score": "85"},
        {"code": "competent", "min_score": "60"},
        {"code": "incompetent"},
    ]
    assert parse_rules(doc).grades[0].code == "top"


def test_indicator_group_parses():
    rules = parse_rules(with_indicator_group(base(), anonymity_floor=2))
    group = rules.group("work_group")
    assert group.total_points == 100
    assert group.anonymity_floor == 2
    assert [i.points for i in group.indicators] == [60, 40]


def test_report_parts_per_category():
    rules = ok(base())
    assert [p.code for p in rules.reports.parts_for("secretary")] == ["party_building_duty"]
    assert rules.reports.parts_for("unit") == ()
    assert rules.reports.max_chars == 2000


def test_quorum_shortfalls():
    quorum = ok(base()).quorum
    assert quorum.shortfalls({"unit_rep": 3, "resident_rep": 8, "leading_group": 9}) == ()
    # 6 of 20 = 0.3 < 0.4 residents; 2 < 3 units.
    assert quorum.shortfalls({"unit_rep": 2, "resident_rep": 6, "leading_group": 12}) == (
        "resident_rep",
        "unit_rep",
    )
    assert quorum.shortfalls({}) == ("resident_rep", "unit_rep")


def test_a_meeting_is_refused_for_a_count_it_misses_even_in_a_group_it_does_not_ballot():
    quorum = ok(base()).quorum
    # No unit representatives issued at all: the count of 3 still binds.
    assert quorum.refused_groups({"resident_rep": 8, "leading_group": 9}) == ("unit_rep",)
    # Residents short of their 40% share in a meeting that ballots residents.
    assert quorum.refused_groups({"unit_rep": 3, "resident_rep": 1, "leading_group": 9}) == (
        "resident_rep",
    )


def test_a_share_binds_only_the_groups_a_meeting_ballots():
    quorum = ok(base()).quorum
    assert quorum.refused_groups({"unit_rep": 3, "leading_group": 9}) == ()
    assert quorum.refused_groups({}) == ()


@given(
    issued=st.dictionaries(
        st.sampled_from(["unit_rep", "resident_rep", "leading_group", "self"]),
        st.integers(min_value=0, max_value=10**6),
    ),
    share=st.fractions(min_value=0, max_value=1),
    count=st.integers(min_value=0, max_value=10**6),
)
def test_refused_groups_match_a_direct_reading_of_the_rule(issued, share, count):
    quorum = Quorum(min_share={"resident_rep": share}, min_count={"unit_rep": count})
    total = sum(issued.values())
    expected = set()
    if issued and issued.get("unit_rep", 0) < count:
        expected.add("unit_rep")
    if "resident_rep" in issued and (total == 0 or Fraction(issued["resident_rep"], total) < share):
        expected.add("resident_rep")
    assert quorum.refused_groups(issued) == tuple(sorted(expected))


@pytest.mark.parametrize(
    "group, own, rated, refusal",
    [
        (SELF_GROUP, "a1", ["a1"], None),
        (SELF_GROUP, "a1", ["a1", "a2"], "its own appraisee only"),
        (SELF_GROUP, "a1", ["a2"], "its own appraisee only"),
        (SELF_GROUP, None, ["a1"], "its own appraisee only"),
        ("leading_group", None, ["a1", "a2"], None),
        ("leading_group", "a1", ["a2", "a3"], None),
        ("leading_group", "a1", ["a2", "a1"], "outside the self group"),
        ("Self", "a1", ["a1"], "outside the self group"),
    ],
)
def test_self_rating(group, own, rated, refusal):
    if refusal is None:
        check_self_rating(group, own, rated)
    else:
        with pytest.raises(RuleViolation, match=refusal):
            check_self_rating(group, own, iter(rated))


@pytest.mark.parametrize(
    "value, expected",
    [("0.45", Fraction(9, 20)), ("87", Fraction(87)), (3, Fraction(3)), ("0", Fraction(0))],
)
def test_parse_decimal_accepts(value, expected):
    assert parse_decimal(value) == expected


@pytest.mark.parametrize("value", [0.5, "1e2", " 1", "01", "-1", -1, True, None, "1.", ".5"])
def test_parse_decimal_refuses(value):
    with pytest.raises(ValueError):
        parse_decimal(value)


@pytest.mark.parametrize("name", ["seed000_city.json", "seed002_dazehu.json"])
def test_shipped_rule_files_parse(name):
    document = json.loads((RULESETS / name).read_text(encoding="utf-8"))
    rules = parse_rules(document)
    assert rules.document == document
    assert sum(g.weight for g in rules.groups) == 1


def test_seed000_matches_the_city_plan():
    rules = parse_rules(json.loads((RULESETS / "seed000_city.json").read_text(encoding="utf-8")))
    weights = {g.code: g.weight for g in rules.groups}
    assert weights == {
        "self": Fraction(1, 10),
        "city_leaders": Fraction(1, 10),
        "leading_group": Fraction(45, 100),
        "unit_rep": Fraction(1, 10),
        "resident_rep": Fraction(1, 4),
    }
    assert [d.label for d in rules.dimensions] == ["德", "能", "勤", "绩", "廉"]
    assert rules.grades[0].max_share == Fraction(15, 100)
    assert rules.quorum.min_count == {"unit_rep": 3}
    assert rules.quorum.min_share == {"resident_rep": Fraction(2, 5)}


def test_seed002_matches_the_dazehu_plan():
    rules = parse_rules(json.loads((RULESETS / "seed002_dazehu.json").read_text(encoding="utf-8")))
    shares = {c.code: c.grades[0].max_share for c in rules.categories}
    assert shares == {
        "secretary": Fraction(2, 5),
        "cadre": Fraction(3, 10),
        "task_force": Fraction(2, 5),
        "unit": Fraction(1, 2),
    }
    assert [g.label for g in rules.grades_for("unit")] == ["一类", "二类", "三类"]
    work = rules.group("work_group")
    assert len(work.indicators) == 17
    assert len({i.section for i in work.indicators}) == 4
    assert [v.label for v in rules.assessments[0].values] == ["好", "较好", "一般", "差"]
    assert rules.linked_rules[0].allowed == ("good",)
    assert rules.reports.max_chars == 2000
    assert len(rules.reports.parts_for("secretary")) == 2
