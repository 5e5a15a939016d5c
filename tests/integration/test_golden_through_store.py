"""Every golden scoring scenario, replayed through the real store on both stores: the
results read model equals the domain's own derivation (issue "Read side").

Harvest.  `tests/unit/test_scoring_golden.py` builds each scenario as a call
`run(rules, appraisees, ballots, **kw)`.  At import we swap the module's `run` for a
recorder that snapshots its arguments (deep copies: a golden test may change its
ballot list after the call) and returns the real `score(...)`, then call every
`test_*` function of the module, each parametrize value set too; the golden
assertions run as usual.  `test_every_golden_run_is_harvested` checks that every
`run(` call site of the module was executed, that nothing there calls `score`
around the recorder, and that the only calls without an Outcome are the ones the
golden tests themselves expect to be refused (inside `pytest.raises(RuleViolation)`).

Replay.  Each scenario gets its own campaign: ids become uuid5(scenario, id);
`campaign.create` with `rules.document`; the roster (a self-group ballot's
appraisee linked to the evaluator who casts it); `assessment.record` for the
scenario's assessments; one meeting issuing one named evaluator per ballot of a
named group and one credential per ballot of an anonymous group; every ballot cast
in wire form; close; propose.  Ballots the scenario voids are voided the way
production voids them: after a proposal an inspector lodges a dispute and
resolves it upheld with `void_ballots` and the scenario's reason, then the
organizer proposes again.  Previous years' grades (`previous_grades`) are written
as production writes them: for each earlier year a finalized campaign of the same
people (same `person_id`) whose committee adjusts each to that year's grade.
Then `projections.catch_up` and `queries.results(roles={"auditor"})` against the
Outcome, field by field.

A scenario the store cannot express is skipped with its reason (see `SKIPS`);
today there are none.  The two-year disposal rule is also covered by whole
campaigns in tests/integration/test_lifecycle.py::
test_incompetent_two_years_running_is_flagged_for_disposal.
"""

from __future__ import annotations

import ast
import copy
import inspect
import sys
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from fractions import Fraction
from itertools import product
from typing import Any

import pytest
from _pytest.mark.structures import ParameterSet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import projections
from domain.errors import RuleViolation
from domain.rules import Rules, parse_decimal, parse_rules
from domain.scoring import Appraisee, Ballot, Outcome, ScoringInput, score, validate_ballot
from projections import queries
from service.balloting_commands import SELF_GROUP
from tests.support import Harness, Signer
from tests.unit import test_scoring_golden as golden

NAMESPACE = uuid.UUID("6f0d8a52-1c3e-4b7a-9d21-5e8f3a6c0b47")
YEAR = 2025
AUDITOR = frozenset({"auditor"})
# At most this many golden scenarios may be skipped, each for a reason in SKIPS.
MAX_SKIPPED = 2
SKIPS = {
    "wire": "a ballot value has no wire form (the wire refuses it as malformed)",
    "self": "a self-group ballot the store refuses at the door (it must rate its own appraisee)",
    "quorum": "the rules' quorum cannot be met by the scenario's ballots",
    "history": "previous grades the store cannot record through a finalized campaign",
    "dispute": "a void reason the store refuses as a dispute's reason",
}


# -- harvest -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One executed `run(...)` of the golden module."""

    name: str  # the golden test id, with "#k" when one test runs several scenarios
    line: int  # line of the `run(` call site in the golden module
    inp: ScoringInput
    outcome: Outcome | None  # None: score() refused the input (RuleViolation)
    refusal: str | None


def _golden_tree() -> ast.Module:
    return ast.parse(inspect.getsource(golden), filename=golden.__file__)


def _calls_named(tree: ast.AST, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
    ]


def run_call_sites() -> dict[int, int]:
    """Each `run(` call site of the golden module: start line -> end line."""
    return {c.lineno: c.end_lineno or c.lineno for c in _calls_named(_golden_tree(), "run")}


def refused_call_sites() -> set[int]:
    """`run(` call sites inside a `with pytest.raises(RuleViolation)` block."""
    lines: set[int] = set()
    for node in ast.walk(_golden_tree()):
        if not isinstance(node, ast.With):
            continue
        expects_refusal = any(
            isinstance(item.context_expr, ast.Call)
            and ast.unparse(item.context_expr.func) == "pytest.raises"
            and [ast.unparse(a) for a in item.context_expr.args] == ["RuleViolation"]
            for item in node.items
        )
        if expects_refusal:
            for statement in node.body:
                lines |= {c.lineno for c in _calls_named(statement, "run")}
    return lines


def _call_site(sites: dict[int, int]) -> int:
    """The innermost `run(` call site the recorder was called from."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename != golden.__file__:
        frame = frame.f_back  # type: ignore[assignment]
    assert frame is not None, "run() was called from outside the golden module"
    line = frame.f_lineno
    around = [start for start, end in sites.items() if start <= line <= end]
    assert around, f"golden line {line}: a run() call the AST does not know"
    return max(around)


def _parameter_sets(fn: Any) -> list[tuple[str, dict[str, Any]]]:
    """(id suffix, arguments) for every parametrize combination of a test function."""
    axes: list[list[tuple[str, dict[str, Any]]]] = []
    for mark in getattr(fn, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names = mark.args[0]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        axis = []
        for i, value in enumerate(mark.args[1]):
            if isinstance(value, ParameterSet):
                values = value.values
            else:
                values = (value,) if len(names) == 1 else value
            axis.append((str(i), dict(zip(names, values, strict=True))))
        axes.append(axis)
    wanted = set(inspect.signature(fn).parameters)
    sets = []
    for combination in product(*axes):
        arguments = {k: v for _, args in combination for k, v in args.items()}
        if set(arguments) != wanted:
            raise RuntimeError(
                f"{fn.__name__} needs {sorted(wanted - set(arguments))}: teach the harvester "
                "to provide them, or its golden scenarios are not replayed"
            )
        suffix = f"[{'-'.join(i for i, _ in combination)}]" if combination else ""
        sets.append((suffix, arguments))
    return sets


def harvest() -> list[Call]:
    sites = run_call_sites()
    calls: list[Call] = []
    current: list[tuple[int, ScoringInput, Outcome | None, str | None]] = []

    def recorder(rules, appraisees, ballots, **kw):
        line = _call_site(sites)
        # A copy as it stands now: a golden test may change its lists after the call.
        frozen = copy.deepcopy((rules, list(appraisees), list(ballots), kw))
        snapshot = ScoringInput(*frozen[:3], **frozen[3])
        try:
            outcome = score(ScoringInput(rules, appraisees, ballots, **kw))
        except RuleViolation as exc:
            current.append((line, snapshot, None, str(exc)))
            raise
        current.append((line, snapshot, outcome, None))
        return outcome

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(golden, "run", recorder)
        for name, fn in list(vars(golden).items()):
            if not (name.startswith("test") and inspect.isfunction(fn)):
                continue
            for suffix, arguments in _parameter_sets(fn):
                current.clear()
                fn(**arguments)
                for k, (line, inp, outcome, refusal) in enumerate(current, 1):
                    tag = f"#{k}" if len(current) > 1 else ""
                    calls.append(Call(f"{name}{suffix}{tag}", line, inp, outcome, refusal))
    return calls


# -- what the store can express ----------------------------------------------------------


def decimal_text(value: Any) -> str | None:
    """An exact non-negative number as the wire's decimal string, or None if it has none."""
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        return None
    exact = Fraction(value)
    if exact < 0:
        return None
    rest, twos, fives = exact.denominator, 0, 0
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    if rest != 1:
        return None
    digits = max(twos, fives)
    text = str(exact.numerator * 10**digits // exact.denominator).rjust(digits + 1, "0")
    shown = f"{text[:-digits]}.{text[-digits:]}" if digits else text
    assert parse_decimal(shown) == exact
    return shown


def wire_rows(ballot: Ballot, ids: dict[str, str]) -> list[dict[str, Any]] | None:
    """The ballot's rows as `ballot.cast` carries them, or None if the wire cannot say it."""
    rows = []
    for row in ballot.rows:
        item: dict[str, Any] = {"appraisee_id": ids[row.appraisee_id]}
        if row.abstain:
            item["abstain"] = True
        elif row.scores is not None:
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in row.scores.values()):
                return None
            item["scores"] = dict(row.scores)
        elif row.choice is not None:
            if not isinstance(row.choice, str):
                return None
            item["choice"] = row.choice
        else:
            assert row.indicators is not None
            points = {code: decimal_text(v) for code, v in row.indicators.items()}
            if any(v is None for v in points.values()):
                return None
            item["indicators"] = points
        rows.append(item)
    return rows


def _ids(name: str, kind: str, keys: Any) -> dict[str, str]:
    return {k: str(uuid.uuid5(NAMESPACE, f"{name}\x00{kind}\x00{k}")) for k in keys}


@dataclass
class Scenario:
    """A harvested Outcome and what the store needs to reproduce it."""

    call: Call
    appraisee_ids: dict[str, str]  # golden id -> roster uuid
    ballot_ids: dict[str, str]
    rows: dict[str, list[dict[str, Any]]]  # golden ballot id -> wire rows
    self_rater: dict[str, str]  # golden self ballot id -> its appraisee's golden id
    history: dict[int, dict[str, str]]  # year -> golden appraisee id -> that year's grade
    skip: str | None = None

    @property
    def name(self) -> str:
        return self.call.name

    @property
    def outcome(self) -> Outcome:
        assert self.call.outcome is not None
        return self.call.outcome


def plan(call: Call) -> Scenario:
    inp = call.inp
    rules = inp.rules
    named = {row.appraisee_id for b in inp.ballots for row in b.rows} | {
        a.appraisee_id for a in inp.appraisees
    }
    scenario = Scenario(
        call,
        _ids(call.name, "appraisee", sorted(named)),
        _ids(call.name, "ballot", sorted(b.ballot_id for b in inp.ballots)),
        {},
        {},
        {},
    )
    roster = {a.appraisee_id: a for a in inp.appraisees}
    for ballot in inp.ballots:
        rows = wire_rows(ballot, scenario.appraisee_ids)
        if rows is None:
            scenario.skip = SKIPS["wire"]
            return scenario
        scenario.rows[ballot.ballot_id] = rows
        if ballot.voided is not None and (not ballot.voided.strip() or len(ballot.voided) > 10_000):
            scenario.skip = SKIPS["dispute"]
            return scenario
        if ballot.group == SELF_GROUP:
            rated = {row.appraisee_id for row in ballot.rows}
            own = next(iter(rated)) if len(rated) == 1 else None
            if (
                own not in roster
                or own in scenario.self_rater.values()
                or rules.group(SELF_GROUP).anonymous
            ):
                scenario.skip = SKIPS["self"]
                return scenario
            scenario.self_rater[ballot.ballot_id] = own
    issued = _issued(rules, inp.ballots)
    if _quorum_shortfalls(rules, issued):
        scenario.skip = SKIPS["quorum"]
        return scenario
    for aid, grades in sorted(inp.previous_grades.items()):
        if aid not in roster:
            continue  # score() ignores history of people not appraised
        category = roster[aid].category
        for back, grade in enumerate(reversed(list(grades)), 1):
            if not _can_adjust_to(rules, category, grade) or _quorum_shortfalls(
                rules, _issued(rules, [])
            ):
                scenario.skip = SKIPS["history"]
                return scenario
            scenario.history.setdefault(YEAR - back, {})[aid] = grade
    return scenario


def _issued(rules: Rules, ballots: Any) -> Counter[str]:
    """Ballot rights per group: one per ballot; one unused right when there are no ballots."""
    issued = Counter(b.group for b in ballots)
    return issued or Counter({rules.groups[0].code: 1})


def _quorum_shortfalls(rules: Rules, issued: Counter[str]) -> tuple[str, ...]:
    """The groups balloting.open would refuse for quorum (its own test, repeated)."""
    short = rules.quorum.shortfalls(issued)
    return tuple(g for g in short if g in issued or g in rules.quorum.min_count)


def _can_adjust_to(rules: Rules, category: str, grade: str) -> bool:
    """Whether a committee may adjust an appraisee without assessments to `grade`."""
    order = [g.code for g in rules.grades_for(category)]
    if grade not in order:
        return False
    return all(
        order.index(grade) >= order.index(rule.cap_grade)
        for rule in rules.linked_rules
        if rule.category in (None, category)
    )


CALLS = harvest()
SCENARIOS = [plan(c) for c in CALLS if c.outcome is not None]


# -- replay ------------------------------------------------------------------------------


class Replay:
    """One scenario driven through the command bus as its participants would."""

    def __init__(self, h: Harness, scenario: Scenario) -> None:
        self.h = h
        self.s = scenario
        self.rules = scenario.call.inp.rules
        self.organizer = h.register("organizer", name="组织部")
        self.inspector = h.register("inspector", name="纪检")
        self.committee: list[Signer] = []
        self._placeholder: Signer | None = None

    def send(self, who: Signer, command_type: str, **fields: Any) -> Any:
        return self.h.submit(who.envelope(command_type, **fields))

    def uid(self, kind: str, key: str) -> str:
        return _ids(self.s.name, kind, [key])[key]

    def campaign(self, year: int, appraisees: list[Appraisee], actors: dict[str, str]) -> str:
        cid = self.uid("campaign", str(year))
        document = dict(self.rules.document)
        assert document and parse_rules(document) == self.rules, (
            f"{self.s.name}: rules.document does not parse back to the scenario's rules; "
            "the store would score a different rule set"
        )
        self.send(
            self.organizer,
            "campaign.create",
            campaign_id=cid,
            title=f"golden {self.s.name} {year}",
            year=year,
            rules=document,
        )
        self.send(
            self.organizer,
            "campaign.add_appraisees",
            campaign_id=cid,
            appraisees=[
                {
                    "appraisee_id": self.s.appraisee_ids[a.appraisee_id],
                    "name": f"appraisee {a.appraisee_id}",
                    "position": "placeholder position",
                    "unit": "placeholder unit",
                    "category": a.category,
                    "person_id": self.uid("person", a.appraisee_id),
                    **({"actor_id": actors[a.appraisee_id]} if a.appraisee_id in actors else {}),
                }
                for a in appraisees
            ],
        )
        self.send(self.organizer, "campaign.publish", campaign_id=cid)
        return cid

    def placeholder_right(self) -> dict[str, Any]:
        """balloting.open fields issuing one right nobody uses (a meeting without ballots)."""
        group = self.rules.groups[0]
        if group.anonymous:
            key = Signer(key=Ed25519PrivateKey.generate()).public_key
            return {"credentials": [{"group": group.code, "public_keys": [key]}]}
        if self._placeholder is None:
            self._placeholder = self.h.register("evaluator", name="未投票的评议人")
        return {"evaluators": [{"group": group.code, "actor_ids": [self._placeholder.actor_id]}]}

    def earlier_year(self, year: int, grades: dict[str, str]) -> None:
        """A finalized campaign in which the committee gives each person this grade."""
        roster = {a.appraisee_id: a for a in self.s.call.inp.appraisees}
        cid = self.campaign(year, [roster[aid] for aid in sorted(grades)], {})
        meeting = self.uid("meeting", str(year))
        self.send(
            self.organizer,
            "balloting.open",
            campaign_id=cid,
            meeting_id=meeting,
            **self.placeholder_right(),
        )
        self.send(self.organizer, "balloting.close", campaign_id=cid, meeting_id=meeting)
        proposal = self.send(self.organizer, "results.propose", campaign_id=cid).result
        while len(self.committee) < self.rules.min_signatures:
            self.committee.append(self.h.register("committee", name="党委会"))
        adjustments = [
            {
                "appraisee_id": self.s.appraisee_ids[aid],
                "grade": grade,
                "reason": f"golden scenario: {grade} in {year}",
            }
            for aid, grade in sorted(grades.items())
        ]
        for member in self.committee[: self.rules.min_signatures]:
            self.send(
                member,
                "results.approve",
                campaign_id=cid,
                proposal_hash=proposal["proposal_hash"],
                adjustments=adjustments,
            )
        self.send(self.h.admin, "results.publish", campaign_id=cid, window_days=0)
        self.send(self.h.admin, "results.finalize", campaign_id=cid)

    def run(self) -> str:
        inp = self.s.call.inp
        for year, grades in sorted(self.s.history.items()):
            self.earlier_year(year, grades)

        ballots = sorted(inp.ballots, key=lambda b: b.ballot_id)
        casters: dict[str, Signer] = {}
        links: dict[str, str] = {}  # golden appraisee id -> the actor casting its self ballot
        for ballot in ballots:
            if self.rules.group(ballot.group).anonymous:
                casters[ballot.ballot_id] = Signer(key=Ed25519PrivateKey.generate())
            else:
                casters[ballot.ballot_id] = self.h.register("evaluator", name="评议人")
                if ballot.ballot_id in self.s.self_rater:
                    links[self.s.self_rater[ballot.ballot_id]] = casters[ballot.ballot_id].actor_id

        cid = self.campaign(YEAR, list(inp.appraisees), links)
        for aid, values in sorted(inp.assessments.items()):
            for code, value in sorted(values.items()):
                self.send(
                    self.organizer,
                    "assessment.record",
                    campaign_id=cid,
                    appraisee_id=self.s.appraisee_ids[aid],
                    assessment=code,
                    value=value,
                )

        meeting = self.uid("meeting", str(YEAR))
        credentials: dict[str, list[str]] = defaultdict(list)
        evaluators: dict[str, list[str]] = defaultdict(list)
        for ballot in ballots:
            signer = casters[ballot.ballot_id]
            if self.rules.group(ballot.group).anonymous:
                credentials[ballot.group].append(signer.public_key)
            else:
                evaluators[ballot.group].append(signer.actor_id)
        rights: dict[str, Any] = {
            "credentials": [{"group": g, "public_keys": k} for g, k in credentials.items()],
            "evaluators": [{"group": g, "actor_ids": a} for g, a in evaluators.items()],
        }
        if not ballots:
            rights = self.placeholder_right()
        self.send(self.organizer, "balloting.open", campaign_id=cid, meeting_id=meeting, **rights)
        roster = [a.appraisee_id for a in inp.appraisees]
        for ballot in ballots:
            cast = self.send(
                casters[ballot.ballot_id],
                "ballot.cast",
                campaign_id=cid,
                meeting_id=meeting,
                ballot_id=self.s.ballot_ids[ballot.ballot_id],
                group=ballot.group,
                rows=self.s.rows[ballot.ballot_id],
            ).result
            expected = validate_ballot(self.rules, ballot, roster).valid
            assert cast["valid"] == expected, (
                f"{self.s.name}: ballot {ballot.ballot_id}: the store classed it "
                f"valid={cast['valid']} ({cast['reason']}), the domain valid={expected}"
            )
        self.send(self.organizer, "balloting.close", campaign_id=cid, meeting_id=meeting)
        self.send(self.organizer, "results.propose", campaign_id=cid)

        voided: dict[str, list[str]] = defaultdict(list)  # reason -> ballot uuids
        for ballot in ballots:
            if ballot.voided is not None:
                voided[ballot.voided].append(self.s.ballot_ids[ballot.ballot_id])
        for n, (reason, ballot_ids) in enumerate(voided.items()):
            dispute = self.uid("dispute", str(n))
            self.send(
                self.inspector,
                "dispute.lodge",
                campaign_id=cid,
                dispute_id=dispute,
                appraisee_id=self.s.appraisee_ids[roster[0]],
                grounds="golden scenario: ballots to void",
            )
            resolved = self.send(
                self.inspector,
                "dispute.resolve",
                campaign_id=cid,
                dispute_id=dispute,
                decision="upheld",
                reason=reason,
                void_ballots=ballot_ids,
            ).result
            assert resolved["status"] == "reopened"
            self.send(self.organizer, "results.propose", campaign_id=cid)
        return cid


# -- comparison --------------------------------------------------------------------------

FIELDS = ("category", "status", "score", "score_exact", "rank", "grade", "flags")
GROUP_FIELDS = ("ballots", "score", "score_exact")


def differences(scenario: Scenario, shown: dict[str, Any], stored: list[dict[str, Any]]) -> list:
    """Every field where the read model differs from the domain's Outcome, readably."""
    name = scenario.name
    golden_id = {v: k for k, v in scenario.appraisee_ids.items()}
    expected = {
        scenario.appraisee_ids[r["appraisee_id"]]: r for r in scenario.outcome.to_dict()["results"]
    }
    proposal = {r["appraisee_id"]: r for r in stored}
    got = {r["appraisee_id"]: r for r in shown["results"]}
    out = []
    if set(got) != set(expected):
        return [
            f"{name}: read model appraisees "
            f"{sorted(golden_id.get(a, a) for a in got)} != domain "
            f"{sorted(golden_id[a] for a in expected)}"
        ]

    def differ(aid: str, what: str, have: Any, want: Any, kept: Any) -> None:
        if have != want:
            out.append(
                f"{name}: appraisee {golden_id[aid]} ({aid}): {what}: read model {have!r} "
                f"!= domain {want!r} (stored proposal: {kept!r})"
            )

    for aid, want in expected.items():
        have, kept = got[aid], proposal.get(aid, {})
        for key in FIELDS:
            differ(aid, key, have[key], want[key], kept.get(key))
        for key in ("computed_grade", "adjustment"):
            differ(aid, key, have.get(key), None, None)
        if set(have["groups"]) != set(want["groups"]):
            differ(aid, "groups", sorted(have["groups"]), sorted(want["groups"]), None)
            continue
        for code, group in want["groups"].items():
            for key in GROUP_FIELDS:
                differ(
                    aid,
                    f"groups.{code}.{key}",
                    have["groups"][code].get(key),
                    group[key],
                    kept.get("groups", {}).get(code, {}).get(key),
                )
    # The read model lists results as the domain orders them (by category, then rank,
    # then appraisee id — here the uuid the store knows them by).
    want_order = sorted(
        expected,
        key=lambda a: (
            expected[a]["category"],
            expected[a]["rank"] is None,
            expected[a]["rank"] or 0,
            a,
        ),
    )
    have_order = [r["appraisee_id"] for r in shown["results"]]
    if have_order != want_order:
        out.append(
            f"{name}: read model order {[golden_id[a] for a in have_order]} "
            f"!= domain order {[golden_id[a] for a in want_order]}"
        )
    return out


# -- tests -------------------------------------------------------------------------------


def test_every_golden_run_is_harvested() -> None:
    sites = run_call_sites()
    executed = Counter(c.line for c in CALLS)
    assert set(executed) == set(sites), (
        f"run() call sites never executed: {sorted(set(sites) - set(executed))}; "
        f"executed from unknown lines: {sorted(set(executed) - set(sites))}"
    )
    assert sum(executed.values()) == len(CALLS)
    # score() is reached only through run(), so the recorder sees every scenario.
    run_def = next(
        n for n in _golden_tree().body if isinstance(n, ast.FunctionDef) and n.name == "run"
    )
    inside_run = {c.lineno for c in _calls_named(run_def, "score")}
    everywhere = {c.lineno for c in _calls_named(_golden_tree(), "score")}
    assert everywhere == inside_run, f"score() called around run() at {everywhere - inside_run}"
    # The calls without an Outcome are exactly the deliberately invalid inputs.
    refused = [c for c in CALLS if c.outcome is None]
    assert {c.line for c in refused} == refused_call_sites()
    assert all(c.refusal for c in refused)
    assert len(SCENARIOS) + len(refused) == len(CALLS)
    # Everything else is replayed, bar a few scenarios the store cannot express.
    skipped = [s for s in SCENARIOS if s.skip is not None]
    assert len(skipped) <= MAX_SKIPPED, [(s.name, s.skip) for s in skipped]
    assert all(s.skip in SKIPS.values() for s in skipped)
    assert len(SCENARIOS) - len(skipped) >= 15, "the golden scenarios went missing"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_golden_scenario_through_store(harness: Harness, scenario: Scenario) -> None:
    if scenario.skip is not None:
        pytest.skip(scenario.skip)
    cid = Replay(harness, scenario).run()
    projections.catch_up(harness.read)
    shown = queries.results(harness.read, cid, roles=AUDITOR)
    assert shown["status"] == "proposed" and shown["proposal_hash"]
    assert shown["page"]["total"] == len(shown["results"])
    stored = harness.system.app.find(uuid.UUID(cid)).proposal["results"]
    problems = differences(scenario, shown, stored)
    assert not problems, "\n".join(problems)
