"""Every golden scenario of tests/golden, scored by the pure domain (DESIGN §5).

The files are the cases (their format: tests/golden/__init__.py); this module only
walks them.  The same files are driven through the store by
tests/integration/test_golden_through_store.py.
"""

import dataclasses
import json
import re

import pytest

from domain.scoring import score, validate_ballot
from tests import golden

SCENARIOS = golden.load_all()
SCORED = [s for s in SCENARIOS if s.expect is not None]
REFUSED = [s for s in SCENARIOS if s.refused is not None]


def by_name(scenarios):
    return pytest.mark.parametrize("scenario", scenarios, ids=[s.name for s in scenarios])


@by_name(SCORED)
def test_scores_as_the_file_expects(scenario: golden.Scenario) -> None:
    outcome = score(scenario.scoring_input()).to_dict()
    assert json.loads(json.dumps(outcome, ensure_ascii=False)) == outcome
    problems = golden.outcome_mismatches(scenario, outcome)
    assert not problems, "\n".join(problems)


@by_name(SCORED)
def test_classifies_each_ballot_as_the_file_expects(scenario: golden.Scenario) -> None:
    roster = [a.appraisee_id for a in scenario.roster]
    got = {b.ballot_id: validate_ballot(scenario.rules, b, roster) for b in scenario.ballots}
    assert got == {b.ballot_id: scenario.validity(b.ballot_id) for b in scenario.ballots}


@by_name(SCORED)
def test_order_of_arrival_does_not_matter(scenario: golden.Scenario) -> None:
    forwards = score(scenario.scoring_input()).to_dict()
    assert score(scenario.scoring_input(reverse=True)).to_dict() == forwards


@by_name(REFUSED)
def test_refuses_as_the_file_expects(scenario: golden.Scenario) -> None:
    assert scenario.refused is not None
    with pytest.raises(scenario.error) as refusal:
        score(scenario.scoring_input())
    assert type(refusal.value) is scenario.error
    assert str(refusal.value) == scenario.refused["message"]


def test_no_scenario_went_missing() -> None:
    """A glob or loader bug must not make the walkers above vacuous."""
    assert len(SCORED) >= golden.AT_LEAST_SCORED
    assert len(REFUSED) >= golden.AT_LEAST_REFUSED
    assert len(SCORED) + len(REFUSED) == len(SCENARIOS)
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS)
    assert len(SCENARIOS) == len(list(golden.DIRECTORY.glob("*.json")))


# -- the loader and the comparison, attacked ------------------------------------------------

BASE = golden.DIRECTORY / "ballot_with_too_many_excellent_is_invalid.json"


def _set(path, value):
    def edit(data):
        *parents, last = path
        for key in parents:
            data = data[key]
        data[last] = value

    return edit


def _drop(path):
    def edit(data):
        *parents, last = path
        for key in parents:
            data = data[key]
        del data[last]

    return edit


def _as_refusal(refused):
    def edit(data):
        del data["expect"]
        data["refused"] = refused

    return edit


FILE_ATTACKS = {
    "unknown top-level key": _set(["expectt"], {}),
    "no roster": _drop(["roster"]),
    "rules and ruleset": _set(["ruleset"], "seed002_dazehu"),
    "neither rules nor ruleset": _drop(["rules"]),
    "ruleset outside rulesets/": _set(["ruleset"], "../../pyproject"),
    "unknown ruleset": _set(["ruleset"], "seed999"),
    "invalid rules": _set(["rules", "groups", 0, "weight"], "0.5"),
    "expect and refused": _set(["refused"], {"code": "rule-violation", "message": "x"}),
    "refusal with an unknown code": _as_refusal(
        {"code": "teapot", "message": "x", "store": {"command": "ballot.cast", "code": "conflict"}}
    ),
    "refusal without the store's": _as_refusal({"code": "conflict", "message": "x"}),
    "refusal with an unknown store code": _as_refusal(
        {"code": "conflict", "message": "x", "store": {"command": "ballot.cast", "code": "teapot"}}
    ),
    "title not a string": _set(["title"], 12),
    "previous grades as one string": _set(["previous_grades"], {"a": "incompetent"}),
    "assessment value not a string": _set(["assessments"], {"a": {"party_building": 1}}),
    "position as a string": _set(["ballots", 0, "position"], "7"),
    "roster entry with an extra key": _set(["roster", 0, "name"], "甲"),
    "ballot with an extra key": _set(["ballots", 0, "serial"], 7),
    "ballot row the wire refuses": _set(["ballots", 0, "rows", 0, "choice"], 3),
    "ballot without rows": _set(["ballots", 0, "rows"], []),
    "result without a grade": _drop(["expect", "results", 0, "grade"]),
    "result without groups": _drop(["expect", "results", 0, "groups"]),
    "group without score_exact": _drop(["expect", "results", 0, "groups", "reps", "score_exact"]),
    "expect without a tally": _drop(["expect", "tally"]),
    "validity missing a ballot": _drop(["expect", "validity", "r4"]),
    "validity of a ballot that is not there": _set(["expect", "validity", "r9"], "valid"),
    "validity neither valid nor invalid": _set(["expect", "validity", "r1"], "fine"),
}


@pytest.mark.parametrize("attack", FILE_ATTACKS.values(), ids=FILE_ATTACKS)
def test_a_malformed_scenario_file_fails_loudly(tmp_path, attack) -> None:
    data = json.loads(BASE.read_text(encoding="utf-8"))
    copy = tmp_path / BASE.name
    copy.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert [s.name for s in golden.load_all(tmp_path)] == [BASE.name]
    attack(data)
    copy.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(golden.GoldenFileError, match=re.escape(BASE.name)):
        golden.load_all(tmp_path)


@pytest.mark.parametrize(
    "text",
    ["{", '{"title": "a", "title": "b"}', "[]", ""],
    ids=["truncated", "duplicate key", "not an object", "empty"],
)
def test_a_file_that_is_not_a_scenario_fails_loudly(tmp_path, text) -> None:
    (tmp_path / "broken.json").write_text(text, encoding="utf-8")
    with pytest.raises(golden.GoldenFileError, match=re.escape("broken.json")):
        golden.load_all(tmp_path)


def test_a_stray_file_in_the_directory_fails_loudly(tmp_path) -> None:
    (tmp_path / BASE.name).write_bytes(BASE.read_bytes())
    (tmp_path / "tie_break.jsn").write_text("{}", encoding="utf-8")
    with pytest.raises(golden.GoldenFileError, match=re.escape("tie_break.jsn")):
        golden.load_all(tmp_path)


EXPECT_ATTACKS = {
    "another score": _set(["results", 0, "score_exact"], "176/2"),
    "rank true for 1": _set(["results", 0, "rank"], True),
    "a group less": _drop(["results", 0, "groups", "reps"]),
    "a group more": _set(["results", 0, "groups", "self"], {}),
    "a field the outcome lacks": _set(["results", 0, "charm"], 1),
    "a row more": lambda e: e["results"][0]["groups"]["reps"]["rows_excluded"].append(
        {"ballot_id": "r9"}
    ),
    "order swapped": lambda e: e["results"].reverse(),
    "an appraisee less": lambda e: e["results"].pop(),
    "a quota decision key less": _drop(["quota_decisions", 0, "reason"]),
    "another tally": _set(["tally", "reps", "voided"], 1),
    "a tally key less": _drop(["tally", "reps", "invalid_reasons"]),
}


@pytest.mark.parametrize("attack", EXPECT_ATTACKS.values(), ids=EXPECT_ATTACKS)
def test_a_wrong_expectation_is_reported(attack) -> None:
    scenario = golden.load(BASE)
    outcome = score(scenario.scoring_input()).to_dict()
    assert golden.outcome_mismatches(scenario, outcome) == []
    expect = json.loads(json.dumps(scenario.expect))
    attack(expect)
    wrong = dataclasses.replace(scenario, expect=expect)
    assert golden.outcome_mismatches(wrong, outcome)
