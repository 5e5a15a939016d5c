"""Every golden scenario of tests/golden, driven through the real store on both stores:
the results read model shows what the file expects (issue "Read side"), and what
scoring refuses the store refuses.

Each scenario gets its own campaign: ids become uuid5(file name, id); `campaign.create`
with the file's rules document; the roster (a self-group ballot's appraisee linked to
the evaluator who casts it); `assessment.record` for the file's assessments; one
meeting issuing one named evaluator per ballot of a named group and one credential per
ballot of an anonymous group; every ballot cast with the file's wire rows, each
classified as the file's `validity` says; close; propose.  Ballots the file voids are
voided the way production voids them: after a proposal an inspector lodges a dispute
and resolves it upheld with `void_ballots` and the file's reason, then the organizer
proposes again.  Previous years' grades are written as production writes them: for
each earlier year a finalized campaign of the same people (same `person_id`) in which
each earns that year's grade from one panel ballot (`history_rules`).  Then
`projections.catch_up` and `queries.results(roles={"auditor"})` against the file, field
by field.

A refusal file is driven the same way until the store refuses a command: it must be
the command and error code the file names, and the ledger must not have grown.

The two-year disposal rule is also covered by whole campaigns in
tests/integration/test_lifecycle.py::test_incompetent_two_years_running_is_flagged_for_disposal.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import projections
from domain.envelope import parse_timestamp
from domain.errors import DomainError
from domain.rules import SELF_GROUP, Grade, Rules
from domain.scoring import Appraisee
from projections import queries
from tests import golden
from tests.support import Harness, Signer

NAMESPACE = uuid.UUID("6f0d8a52-1c3e-4b7a-9d21-5e8f3a6c0b47")
YEAR = 2025
AUDITOR = frozenset({"auditor"})
SCENARIOS = golden.load_all()
SCORED = [s for s in SCENARIOS if s.expect is not None]
REFUSED = [s for s in SCENARIOS if s.refused is not None]
# What the read model shows of each result, and of each of its groups.
FIELDS = ("category", "status", "score", "score_exact", "rank", "grade", "flags", "consequences")
GROUP_FIELDS = ("ballots", "score", "score_exact")


def uid(scenario: golden.Scenario, kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{scenario.name}\x00{kind}\x00{key}"))


def with_store_ids(scenario: golden.Scenario, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ballot's wire rows with the store's appraisee ids."""
    return [
        {**row, "appraisee_id": uid(scenario, "appraisee", row["appraisee_id"])} for row in rows
    ]


def self_raters(scenario: golden.Scenario) -> dict[str, str]:
    """Self-group ballot id -> the appraisee it rates, which must be its caster's own."""
    raters: dict[str, str] = {}
    roster = {a.appraisee_id for a in scenario.roster}
    for ballot in scenario.ballots:
        if ballot.group != SELF_GROUP:
            continue
        rated = {row.appraisee_id for row in ballot.rows}
        assert len(rated) == 1 and rated <= roster, (
            f"{scenario.name}: self ballot {ballot.ballot_id} must rate one appraisee on the roster"
        )
        raters[ballot.ballot_id] = rated.pop()
    assert len(set(raters.values())) == len(raters), f"{scenario.name}: two self ballots per person"
    return raters


def history(scenario: golden.Scenario) -> dict[int, dict[str, str]]:
    """Year -> appraisee -> that year's grade, for the appraisees on the roster."""
    roster = {a.appraisee_id for a in scenario.roster}
    years: dict[int, dict[str, str]] = defaultdict(dict)
    for aid, grades in sorted(scenario.previous_grades.items()):
        if aid in roster:  # score() ignores the history of people not appraised
            for back, grade in enumerate(reversed(grades), 1):
                years[YEAR - back][aid] = grade
    return dict(years)


def history_rules(rules: Rules) -> dict[str, Any]:
    """Rules for an earlier year in which one panel choice `g<i>` earns exactly the i-th
    grade of any category (scores depth - i, thresholds likewise), so that the history a
    scenario needs is computed, as production records it, not adjusted into an incomplete
    result."""
    lists = [c.grades for c in rules.categories] or [rules.grades]
    depth = max(len(grades) for grades in lists)

    def grades(listed: tuple[Grade, ...]) -> list[dict[str, Any]]:
        return [
            {"code": g.code, **({"min_score": str(depth - i)} if i < len(listed) - 1 else {})}
            for i, g in enumerate(listed)
        ]

    document: dict[str, Any] = {
        "scale": depth,
        "groups": [{"code": "panel", "weight": "1", "form": "grade_choice"}],
        "choices": [{"code": f"g{i}", "score": str(depth - i)} for i in range(depth)],
    }
    if rules.categories:
        document["categories"] = [
            {"code": c.code, "grades": grades(c.grades)} for c in rules.categories
        ]
    else:
        document["grades"] = grades(rules.grades)
        document["default_category"] = rules.default_category
    return document


class Replay:
    """One scenario driven through the command bus as its participants would."""

    def __init__(self, h: Harness, scenario: golden.Scenario) -> None:
        self.h = h
        self.s = scenario
        self.rules = scenario.rules
        self.organizer = h.register("organizer", name="组织部")
        self.inspector = h.register("inspector", name="纪检")
        self.committee = h.register("committee", name="党委会")
        self._placeholder: Signer | None = None
        self.last: tuple[str, int] | None = None  # the last command sent, the ledger size before

    def send(self, who: Signer, command_type: str, **fields: Any) -> Any:
        self.last = (command_type, self.h.size)
        return self.h.submit(who.envelope(command_type, **fields))

    def anonymous(self, group: str) -> bool:
        """Whether a ballot of `group` is cast with a credential (an unknown group: named)."""
        return any(g.code == group and g.anonymous for g in self.rules.groups)

    def uid(self, kind: str, key: str) -> str:
        return uid(self.s, kind, key)

    def campaign(self, year: int, appraisees: list[Appraisee], actors: dict[str, str]) -> str:
        cid = self.uid("campaign", str(year))
        self.send(
            self.organizer,
            "campaign.create",
            campaign_id=cid,
            title=f"golden {self.s.name} {year}",
            year=year,
            rules=dict(self.rules.document),
        )
        self._add_roster(cid, appraisees, actors)
        return cid

    def _add_roster(self, cid: str, appraisees: list[Appraisee], actors: dict[str, str]) -> None:
        self.send(
            self.organizer,
            "campaign.add_appraisees",
            campaign_id=cid,
            appraisees=[
                {
                    "appraisee_id": self.uid("appraisee", a.appraisee_id),
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
        self.send(
            self.organizer,
            "campaign.name_committee",
            campaign_id=cid,
            actor_ids=[self.committee.actor_id],
        )
        self.send(self.organizer, "campaign.publish", campaign_id=cid)

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
        """A finalized campaign in which each person earns this grade: one panel ballot
        under `history_rules` (a committee cannot grade an incomplete result)."""
        roster = {a.appraisee_id: a for a in self.s.roster}
        cid = self.uid("campaign", str(year))
        self.send(
            self.organizer,
            "campaign.create",
            campaign_id=cid,
            title=f"golden {self.s.name} {year}",
            year=year,
            rules=history_rules(self.rules),
        )
        self._add_roster(cid, [roster[aid] for aid in sorted(grades)], {})
        meeting = self.uid("meeting", str(year))
        if self._placeholder is None:
            self._placeholder = self.h.register("evaluator", name="往年评议人")
        self.send(
            self.organizer,
            "balloting.open",
            campaign_id=cid,
            meeting_id=meeting,
            evaluators=[{"group": "panel", "actor_ids": [self._placeholder.actor_id]}],
        )
        rows = [
            {"appraisee_id": self.uid("appraisee", aid), "choice": f"g{self._rank_of(aid, grade)}"}
            for aid, grade in sorted(grades.items())
        ]
        self.send(
            self._placeholder,
            "ballot.cast",
            campaign_id=cid,
            meeting_id=meeting,
            ballot_id=self.uid("ballot", f"history {year}"),
            group="panel",
            rows=rows,
        )
        self.send(self.organizer, "balloting.close", campaign_id=cid, meeting_id=meeting)
        proposal = self.send(self.organizer, "results.propose", campaign_id=cid).result
        self.send(
            self.committee,
            "results.approve",
            campaign_id=cid,
            proposal_hash=proposal["proposal_hash"],
            adjustments=[],
        )
        self.send(self.h.admin, "results.publish", campaign_id=cid, window_days=0)
        self.send(self.h.admin, "results.finalize", campaign_id=cid)

    def _rank_of(self, aid: str, grade: str) -> int:
        """A grade's place in its appraisee's category's grade list, best first."""
        category = next(a.category for a in self.s.roster if a.appraisee_id == aid)
        return [g.code for g in self.rules.grades_for(category)].index(grade)

    def run(self) -> str:
        for year, grades in sorted(history(self.s).items()):
            self.earlier_year(year, grades)

        raters = self_raters(self.s)
        order = sorted(range(len(self.s.ballots)), key=lambda i: self.s.ballots[i].ballot_id)
        ballots = [self.s.ballots[i] for i in order]
        rows = [self.s.wire_rows[i] for i in order]
        casters: list[Signer] = []  # by position in `ballots`: a file may repeat a ballot id
        links: dict[str, str] = {}  # appraisee -> the actor casting its self ballot
        for ballot in ballots:
            if self.anonymous(ballot.group):
                casters.append(Signer(key=Ed25519PrivateKey.generate()))
            else:
                casters.append(self.h.register("evaluator", name="评议人"))
                if ballot.ballot_id in raters:
                    links[raters[ballot.ballot_id]] = casters[-1].actor_id

        cid = self.campaign(YEAR, list(self.s.roster), links)
        for aid, values in sorted(self.s.assessments.items()):
            for code, value in sorted(values.items()):
                self.send(
                    self.organizer,
                    "assessment.record",
                    campaign_id=cid,
                    appraisee_id=self.uid("appraisee", aid),
                    assessment=code,
                    value=value,
                )

        meeting = self.uid("meeting", str(YEAR))
        credentials: dict[str, list[str]] = defaultdict(list)
        evaluators: dict[str, list[str]] = defaultdict(list)
        for ballot, signer in zip(ballots, casters, strict=True):
            if self.anonymous(ballot.group):
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
        if credentials and self.rules.countersign:  # two officials (seed 002)
            self.send(self.inspector, "balloting.countersign", campaign_id=cid, meeting_id=meeting)
        opened_at = parse_timestamp(self.h.system.opened_at(meeting)) if credentials else None
        for ballot, signer, wire in zip(ballots, casters, rows, strict=True):
            signed_at = {"issued_at": opened_at} if self.anonymous(ballot.group) else {}
            cast = self.send(
                signer,
                "ballot.cast",
                campaign_id=cid,
                meeting_id=meeting,
                ballot_id=self.uid("ballot", ballot.ballot_id),
                group=ballot.group,
                rows=with_store_ids(self.s, wire),
                **signed_at,
            ).result
            if self.s.expect is None:
                continue  # a refusal file expects no classification
            expected = self.s.validity(ballot.ballot_id)
            assert (cast["valid"], cast["reason"]) == (expected.valid, expected.reason), (
                f"{self.s.name}: ballot {ballot.ballot_id}: the store classed it "
                f"valid={cast['valid']} ({cast['reason']}), the file {expected}"
            )
        self.send(self.organizer, "balloting.close", campaign_id=cid, meeting_id=meeting)
        self.send(self.organizer, "results.propose", campaign_id=cid)

        voided: dict[str, list[str]] = defaultdict(list)  # reason -> ballot uuids
        for ballot in ballots:
            if ballot.voided is not None:
                voided[ballot.voided].append(self.uid("ballot", ballot.ballot_id))
        for n, (reason, ballot_ids) in enumerate(voided.items()):
            dispute = self.uid("dispute", str(n))
            self.send(
                self.inspector,
                "dispute.lodge",
                campaign_id=cid,
                dispute_id=dispute,
                appraisee_id=self.uid("appraisee", self.s.roster[0].appraisee_id),
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


def shown_as_expected(scenario: golden.Scenario) -> dict[str, dict[str, Any]]:
    """Each expected result as the read model must show it, by the store's appraisee id."""
    assert scenario.expect is not None
    shown = {}
    for want in scenario.expect["results"]:
        aid = uid(scenario, "appraisee", want["appraisee_id"])
        shown[aid] = {
            "appraisee_id": aid,
            **{key: want[key] for key in FIELDS},
            "groups": {
                code: {key: group[key] for key in GROUP_FIELDS}
                for code, group in want["groups"].items()
            },
        }
    return shown


NAMING = frozenset({"name", "position", "unit", "category_label", "grade_label"})


def differences(scenario: golden.Scenario, shown: dict[str, Any]) -> list[str]:
    """Every field where the read model differs from the file, readably."""
    expected = shown_as_expected(scenario)
    name = {uid(scenario, "appraisee", a.appraisee_id): a.appraisee_id for a in scenario.roster}
    # Names and labels come from the roster and the rules (test_names_in_reads); the files
    # fix the scores, so everything else must match them exactly.
    got = {
        r["appraisee_id"]: {k: v for k, v in r.items() if k not in NAMING} for r in shown["results"]
    }
    if set(got) != set(expected):
        return [
            f"read model appraisees {sorted(name.get(a, a) for a in got)} "
            f"!= expected {sorted(name[a] for a in expected)}"
        ]
    out = [
        line
        for aid, want in expected.items()
        for line in golden.mismatches(want, got[aid], f"appraisee {name[aid]}", partial=False)
    ]
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
            f"read model order {[name[a] for a in have_order]} "
            f"!= expected {[name[a] for a in want_order]}"
        )
    return out


def test_no_scenario_went_missing() -> None:
    """A glob or loader bug must not make the walkers below vacuous."""
    assert len(SCORED) >= golden.AT_LEAST_SCORED
    assert len(REFUSED) >= golden.AT_LEAST_REFUSED


@pytest.mark.parametrize("scenario", SCORED, ids=[s.name for s in SCORED])
def test_golden_scenario_through_store(harness: Harness, scenario: golden.Scenario) -> None:
    cid = Replay(harness, scenario).run()
    projections.catch_up(harness.read)
    shown = queries.results(harness.read, cid, roles=AUDITOR)
    assert shown["status"] == "proposed" and shown["proposal_hash"]
    assert shown["page"]["total"] == len(shown["results"])
    problems = differences(scenario, shown)
    assert not problems, f"{scenario.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("scenario", REFUSED, ids=[s.name for s in REFUSED])
def test_golden_refusal_through_store(harness: Harness, scenario: golden.Scenario) -> None:
    """What scoring refuses, the store refuses at the door, and the refusal writes nothing."""
    assert scenario.refused is not None
    replay = Replay(harness, scenario)
    with pytest.raises(DomainError) as refusal:
        replay.run()
    assert replay.last is not None
    command, size_before = replay.last
    store = scenario.refused["store"]
    assert (command, refusal.value.code) == (store["command"], store["code"]), refusal.value
    assert harness.size == size_before
