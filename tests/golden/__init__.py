"""Golden scoring scenarios (DESIGN §5): one JSON file per scenario in this directory.

The files are the cases, as transparency-dev/merkle's `testdata/` is for its
`verify_test.go`: adding a file adds a test to both walkers —
`tests/unit/test_scoring_golden.py` scores it with the pure domain, and
`tests/integration/test_golden_through_store.py` drives it through the command bus
on SQLite and PostgreSQL.  The test id is the file name.

A file holds

* `title`, and `why`: the arithmetic written out, one line per string;
* `rules` (an inline rules document) or `ruleset` (a shipped `service/rulesets/` name);
* `roster` [{`appraisee_id`, `category`}]; `ballots` [{`ballot_id`, `group`, `rows`}
  with `rows` exactly as `ballot.cast` carries them, and optionally `voided` (the
  upheld dispute's reason), `signer`, `position`]; optionally `assessments`
  {appraisee: {assessment: value}} and `previous_grades` {appraisee: [grade, …]},
  most recent last;
* either `expect` — `results` in the outcome's order, each with at least
  `REQUIRED_RESULT_FIELDS` and a `groups` entry per group with at least
  `REQUIRED_GROUP_FIELDS` (any other field of `Outcome.to_dict()` may be added and is
  then compared too), the complete `quota_decisions` and `tally`, and `validity`:
  every ballot as "valid" or "invalid:<reason>" —
* or `refused` {`code`, `message`}: the DomainError scoring must raise, and
  `store` {`command`, `code`}: the command the store refuses the scenario at, and how.

Anything else in a file, or a file that does not parse, raises GoldenFileError when
the directory is loaded, so a broken scenario stops the run instead of vanishing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain import errors
from domain.balloting import parse_rows
from domain.rules import Rules, parse_rules
from domain.scoring import Appraisee, Ballot, BallotValidity, ScoringInput

DIRECTORY = Path(__file__).resolve().parent
RULESETS = DIRECTORY.parents[1] / "service" / "rulesets"

REQUIRED_RESULT_FIELDS = (
    "appraisee_id",
    "category",
    "status",
    "score",
    "score_exact",
    "rank",
    "grade",
    "flags",
    "consequences",
    "groups",
)
REQUIRED_GROUP_FIELDS = ("ballots", "score", "score_exact", "missing")
# The scenarios there were when they moved from test source into files: the walkers
# fail below these, so a glob or loader bug cannot make them vacuous.
AT_LEAST_SCORED = 20
AT_LEAST_REFUSED = 5
VALID = "valid"
INVALID = "invalid:"

_REQUIRED = {"title", "roster", "ballots"}
_OPTIONAL = {"why", "assessments", "previous_grades"}
_ONE_OF = (("rules", "ruleset"), ("expect", "refused"))
_BALLOT_FIELDS = {"ballot_id", "group", "rows", "voided", "signer", "position"}
_EXPECT_FIELDS = {"results", "quota_decisions", "tally", "validity"}
_ERROR_CODES = {
    cls.code: cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, errors.DomainError)
}


class GoldenFileError(Exception):
    """A scenario file the loader cannot read as a scenario."""


@dataclass(frozen=True)
class Scenario:
    name: str  # the file name: the test id
    title: str
    rules: Rules
    roster: tuple[Appraisee, ...]
    ballots: tuple[Ballot, ...]
    wire_rows: tuple[list[dict[str, Any]], ...]  # each ballot's rows as ballot.cast sends them
    assessments: Mapping[str, Mapping[str, str]]
    previous_grades: Mapping[str, tuple[str, ...]]
    expect: Mapping[str, Any] | None
    refused: Mapping[str, Any] | None

    def scoring_input(self, reverse: bool = False) -> ScoringInput:
        """The scenario as `score()` takes it; `reverse` lists roster and ballots backwards."""
        step = -1 if reverse else 1
        return ScoringInput(
            self.rules,
            self.roster[::step],
            self.ballots[::step],
            assessments=self.assessments,
            previous_grades=self.previous_grades,
        )

    @property
    def error(self) -> type[errors.DomainError]:
        assert self.refused is not None, f"{self.name} is not a refusal"
        return _ERROR_CODES[self.refused["code"]]

    def validity(self, ballot_id: str) -> BallotValidity:
        """The expected classification of one ballot."""
        assert self.expect is not None, f"{self.name} is a refusal"
        text = self.expect["validity"][ballot_id]
        return (
            BallotValidity(True) if text == VALID else BallotValidity(False, text[len(INVALID) :])
        )


def load_all(directory: Path = DIRECTORY) -> list[Scenario]:
    """Every scenario of the directory, by file name; anything that is not one is an error."""
    strays = [
        p.name
        for p in directory.iterdir()
        if p.suffix != ".json" and p.name not in ("__init__.py", "__pycache__")
    ]
    if strays:
        raise GoldenFileError(f"{directory}: not a scenario file: {', '.join(sorted(strays))}")
    return [load(path) for path in sorted(directory.glob("*.json"))]


def load(path: Path) -> Scenario:
    try:
        return _scenario(
            path.name, json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_unique_keys)
        )
    except (
        GoldenFileError,
        errors.DomainError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
    ) as exc:
        raise GoldenFileError(f"{path.name}: {type(exc).__name__}: {exc}") from exc


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise GoldenFileError(f"duplicate key(s) {duplicates}")
    return dict(pairs)


def _fields(
    where: str, data: Any, required: set[str], optional: set[str] | None = frozenset()
) -> dict[str, Any]:
    """`data` as an object with every required key and, unless `optional` is None, no others."""
    if not isinstance(data, dict):
        raise GoldenFileError(f"{where} must be an object, not {type(data).__name__}")
    missing = required - set(data)
    unknown = set() if optional is None else set(data) - required - optional
    if missing or unknown:
        raise GoldenFileError(f"{where}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    return data


def _list(where: str, data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise GoldenFileError(f"{where} must be a list, not {type(data).__name__}")
    return data


def _scenario(name: str, data: Any) -> Scenario:
    either = {key for pair in _ONE_OF for key in pair}
    _fields("the file", data, _REQUIRED, _OPTIONAL | either)
    for pair in _ONE_OF:
        if sum(key in data for key in pair) != 1:
            raise GoldenFileError(f"give exactly one of {' or '.join(pair)}")
    _texts("title", [data["title"]])
    _texts("why", _list("why", data.get("why", [])))
    rules = parse_rules(data["rules"] if "rules" in data else _ruleset(data["ruleset"]))
    roster = []
    for i, raw in enumerate(_list("roster", data["roster"])):
        a = _fields(f"roster[{i}]", raw, {"appraisee_id", "category"})
        _texts(f"roster[{i}]", list(a.values()))
        roster.append(Appraisee(**a))
    ballots, wire_rows = [], []
    for i, raw in enumerate(_list("ballots", data["ballots"])):
        b = _fields(f"ballots[{i}]", raw, {"ballot_id", "group", "rows"}, _BALLOT_FIELDS)
        _texts(
            f"ballots[{i}]", [b[k] for k in ("ballot_id", "group", "voided", "signer") if k in b]
        )
        if "position" in b and type(b["position"]) is not int:
            raise GoldenFileError(f"ballots[{i}].position must be an integer")
        ballots.append(
            Ballot(
                b["ballot_id"],
                b["group"],
                parse_rows(b["rows"]),
                voided=b.get("voided"),
                signer=b.get("signer", ""),
                position=b.get("position"),
            )
        )
        wire_rows.append(b["rows"])
    assessments = _fields("assessments", data.get("assessments", {}), set(), None)
    for aid, values in assessments.items():
        values = _fields(f"assessments.{aid}", values, set(), None)
        _texts(f"assessments.{aid}", [*values, *values.values()])
    previous = _fields("previous_grades", data.get("previous_grades", {}), set(), None)
    for aid, grades in previous.items():
        _texts(f"previous_grades.{aid}", _list(f"previous_grades.{aid}", grades))
    expect = data.get("expect")
    if expect is not None:
        _check_expect(expect, [b.ballot_id for b in ballots])
    refused = data.get("refused")
    if refused is not None:
        _fields("refused", refused, {"code", "message", "store"})
        store = _fields("refused.store", refused["store"], {"command", "code"})
        _texts("refused", [refused["code"], refused["message"], *store.values()])
        for code in (refused["code"], store["code"]):
            if code not in _ERROR_CODES:
                raise GoldenFileError(f"refused: {code!r} is no DomainError code")
    return Scenario(
        name=name,
        title=data["title"],
        rules=rules,
        roster=tuple(roster),
        ballots=tuple(ballots),
        wire_rows=tuple(wire_rows),
        assessments=assessments,
        previous_grades={aid: tuple(grades) for aid, grades in previous.items()},
        expect=expect,
        refused=refused,
    )


def _texts(where: str, values: list[Any]) -> None:
    if not all(isinstance(v, str) for v in values):
        raise GoldenFileError(f"{where}: expected strings, got {list(values)!r}")


def _ruleset(name: str) -> dict[str, Any]:
    path = RULESETS / f"{name}.json"
    if not isinstance(name, str) or path.parent != RULESETS or not path.is_file():
        raise GoldenFileError(f"no shipped ruleset {name!r} in {RULESETS}")
    return json.loads(path.read_text(encoding="utf-8"))


def _check_expect(expect: Any, ballot_ids: list[str]) -> None:
    _fields("expect", expect, _EXPECT_FIELDS)
    for i, result in enumerate(_list("expect.results", expect["results"])):
        where = f"expect.results[{i}]"
        _fields(where, result, set(REQUIRED_RESULT_FIELDS), None)
        for code, group in _fields(f"{where}.groups", result["groups"], set(), None).items():
            _fields(f"{where}.groups.{code}", group, set(REQUIRED_GROUP_FIELDS), None)
    _list("expect.quota_decisions", expect["quota_decisions"])
    validity = _fields("expect.validity", expect["validity"], set(ballot_ids))
    for ballot_id, text in validity.items():
        if text != VALID and not (isinstance(text, str) and text.startswith(INVALID)):
            raise GoldenFileError(
                f"expect.validity.{ballot_id}: {text!r} is neither {VALID!r} nor {INVALID}<reason>"
            )


# -- comparison ---------------------------------------------------------------------------


def outcome_mismatches(scenario: Scenario, outcome: Mapping[str, Any]) -> list[str]:
    """Where an `Outcome.to_dict()` differs from the file's `expect`, one line each."""
    assert scenario.expect is not None, f"{scenario.name} is a refusal"
    expect = scenario.expect
    out = []
    want_order = [r["appraisee_id"] for r in expect["results"]]
    have = {r["appraisee_id"]: r for r in outcome["results"]}
    if [r["appraisee_id"] for r in outcome["results"]] != want_order:
        out.append(f"results order {list(have)} != expected {want_order}")
    for want in expect["results"]:
        aid = want["appraisee_id"]
        if aid in have:
            out += result_mismatches(want, have[aid], f"results[{aid}]")
    for key in ("quota_decisions", "tally"):
        out += mismatches(expect[key], outcome[key], key, partial=False)
    return out


def result_mismatches(want: Mapping[str, Any], have: Mapping[str, Any], where: str) -> list[str]:
    """The fields a file names for one appraisee against a result; the same groups, though."""
    out = []
    if set(want["groups"]) != set(have["groups"]):
        out.append(f"{where}.groups: {sorted(have['groups'])} != expected {sorted(want['groups'])}")
    out += mismatches(want, have, where, partial=True)
    return out


def mismatches(want: Any, have: Any, where: str, partial: bool) -> Iterator[str]:
    """Leaves compare by type and value (JSON's 1 is not true); `partial` objects may
    name fewer keys than they are compared with."""
    if isinstance(want, dict) and isinstance(have, Mapping):
        if not partial and set(want) != set(have):
            yield f"{where}: keys {sorted(have)} != expected {sorted(want)}"
        for key, value in want.items():
            if key not in have:
                yield f"{where}.{key}: absent, expected {value!r}"
            else:
                yield from mismatches(value, have[key], f"{where}.{key}", partial)
    elif isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        for i, (w, h) in enumerate(zip(want, have, strict=True)):
            yield from mismatches(w, h, f"{where}[{i}]", partial)
    elif type(want) is not type(have) or want != have:
        yield f"{where}: got {have!r}, expected {want!r}"
