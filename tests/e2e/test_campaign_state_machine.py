"""Every lifecycle command, by every role, in every state a campaign can reach, over HTTP on
both stores, checked against a model written from DESIGN §3.1 rather than from the code
(paper slips typed in and voided by the teller included):
a wrong signer is 403 whatever the state, a right signer in the wrong state is 409, an
accepted command moves the campaign as the model says, and a refusal writes nothing.
Hypothesis chooses the order, so sequences nobody wrote down (a second proposal, a
make-up meeting after a close, approval before any proposal) are tried too."""

import json
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from api import create_app
from domain.envelope import format_timestamp, parse_timestamp
from entrypoints.cli import main
from service.settings import Settings
from tests.conftest import postgres_schema_url
from tests.e2e.conftest import OPTIONS, PROBLEMS, runtime
from tests.support import Harness, Signer, fuzz_examples
from tests.support.http import Api, HttpCampaign
from tests.support.scenario import DIMENSIONS, new_id
from tests.unit.test_roles import DESIGN_SIGNERS

# Who may sign what: DESIGN §3.1's table, and results.finalize as results.publish's peer.
MODEL_SIGNERS = {**DESIGN_SIGNERS, "results.finalize": {"admin"}}
ROLES = ("admin", "organizer", "committee", "inspector", "auditor", "teller", "cadre", "outsider")


CHOICES = ("excellent", "competent", "incompetent")
SERIALS = ("R-0001", "R-0002")  # each meeting's paper slips for residents
MAX_EXCELLENT_SHARE = Fraction(3, 10)  # seed 000 rules: representatives' ballots only


def valid_representative_ballot(rows: list[dict[str, Any]]) -> bool:
    """At most 30 % of the rows that do not abstain may be 优秀 (DESIGN §5, seed 000)."""
    voting = [r for r in rows if not r.get("abstain")]
    excellent = sum(r.get("choice") == "excellent" for r in voting)
    return excellent <= MAX_EXCELLENT_SHARE * len(voting)


def signer_of(command_type: str) -> st.SearchStrategy[str]:
    """Half the time a rightful signer, so that runs get deep into the lifecycle."""
    return st.one_of(st.sampled_from(sorted(MODEL_SIGNERS[command_type])), st.sampled_from(ROLES))


@dataclass
class Model:
    """The campaign as DESIGN describes it: a status and its meetings."""

    status: str = "draft"
    meetings: dict[str, str] = field(default_factory=dict)  # meeting id -> open | closed
    voted: set[str] = field(default_factory=set)  # meetings whose named ballots were cast
    # meeting -> group -> issued, cast, valid, invalid: what the reconciliation must show
    tallies: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)

    def issue(self, meeting: str, group: str, n: int) -> None:
        self.tallies.setdefault(meeting, {})[group] = Counter(issued=n)

    def cast(self, meeting: str, group: str, valid: bool) -> None:
        self.tallies[meeting][group].update(cast=1, valid=int(valid), invalid=int(not valid))

    def refusal(self, command_type: str, meeting: str | None = None) -> tuple[int, str] | None:
        """How a rightful signer's command is refused in this state, if it is."""
        if command_type == "balloting.close" and meeting not in self.meetings:
            return (404, "not-found")
        open_meetings = [m for m, s in self.meetings.items() if s == "open"]
        allowed = {
            "campaign.add_appraisees": self.status == "draft",
            "campaign.publish": self.status == "draft",
            "balloting.open": self.status == "published",
            "balloting.close": self.meetings.get(meeting or "") == "open",
            "results.propose": self.status in ("published", "proposed")
            and bool(self.meetings)
            and not open_meetings,
            "results.approve": self.status == "proposed",
            "results.publish": self.status == "approved",
            "results.finalize": self.status == "publicized",
        }[command_type]
        if not allowed:
            return (409, "wrong-state")
        if command_type == "balloting.open" and self.standing():
            return (409, "conflict")  # the same evaluators would vote twice
        return None

    def standing(self) -> bool:
        """Whether the named evaluators (every meeting names the same ones, for the same
        appraisees) hold a standing right: unspent in an open meeting, or cast. Rights of
        a meeting closed unvoted expired, and bar nothing."""
        return any(s == "open" or m in self.voted for m, s in self.meetings.items())

    def accept(self, command_type: str, meeting: str | None = None) -> None:
        if command_type == "campaign.publish":
            self.status = "published"
        elif command_type == "balloting.open":
            self.meetings[meeting or ""] = "open"
        elif command_type == "balloting.close":
            self.meetings[meeting or ""] = "closed"
        elif command_type == "results.propose":
            self.status = "proposed"
        elif command_type == "results.approve":
            self.status = "approved"
        elif command_type == "results.publish":
            self.status = "publicized"
        elif command_type == "results.finalize":
            self.status = "finalized"


def assert_audit_verifies(harness: Harness) -> None:
    settings = harness.system.settings
    env = {
        "APPRAISAL_DATA_DIR": str(settings.data_dir),
        "APPRAISAL_DATABASE_URL": settings.database_url,
    }
    bundle = str(settings.data_dir / "bundle.jsonl")
    runner = CliRunner()
    exported = runner.invoke(main, ["audit", "export", "-o", bundle], env=env)
    assert exported.exit_code == 0, exported.output
    key = harness.init_result["log_public_key"]
    verified = runner.invoke(main, ["audit", "verify", bundle, "--log-key", key, "--json"], env=env)
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["ok"]


def lifecycle_machine(open_harness: Callable[[], AbstractContextManager[Harness]]) -> type:
    class CampaignLifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.stack = ExitStack()
            self.harness = self.stack.enter_context(open_harness())
            app = create_app(system=self.harness.system, options=OPTIONS)
            self.stack.callback(runtime(app).close)
            self.api = Api(app.test_client(), self.harness)
            self.model = Model()
            self.rights: dict[str, dict[str, list[Signer]]] = {}  # meeting -> group -> keys
            self.proposal_hash = "0" * 64
            self.spent: set[str] = set()  # key ids whose ballot right is spent
            # meeting -> paper serial -> its standing entry (ballot id, valid) or None
            self.slips: dict[str, dict[str, tuple[str, bool] | None]] = {}
            self.corrected: set[tuple[str, str]] = set()  # slips already entered again once

        def teardown(self) -> None:
            """The offline audit re-derives everything from the signed envelopes alone:
            whatever order the commands came in, it agrees with what the server did."""
            try:
                if self.harness.size:
                    assert_audit_verifies(self.harness)
            finally:
                self.stack.close()

        @initialize()
        def create_campaign(self) -> None:
            self.c = HttpCampaign(self.api)
            self.by_role = {
                "admin": self.harness.admin,
                "organizer": self.c.organizer,
                "committee": self.c.committee,
                "inspector": self.c.inspector,
                "auditor": self.c.auditor,
                "teller": self.c.teller,
                "cadre": self.c.cadres[0],
                "outsider": Signer(),
            }
            self.c.set_up()  # created, roster added, published
            self.model.status = "published"

        # --- the commands, by anyone ---------------------------------------------------

        def attempt(
            self, role: str, command_type: str, meeting: str | None = None, **fields: Any
        ) -> dict[str, Any] | None:
            before = self.harness.size
            response = self.c.post(self.by_role[role], command_type, **fields)
            body = response.get_json(force=True)
            assert response.status_code < 500, body
            if role == "outsider":
                expected: tuple[int, str] | None = (401, "unknown-key")
            elif role not in MODEL_SIGNERS[command_type]:
                expected = (403, "wrong-role")
            else:
                expected = self.model.refusal(command_type, meeting)
            if expected is None:
                accepted = self.api.accepted(response)  # later reads wait for it
                assert self.harness.size > before
                self.model.accept(command_type, meeting)
                return accepted
            assert (response.status_code, body["type"]) == (
                expected[0],
                PROBLEMS + expected[1],
            ), (command_type, role, self.model, body)
            assert self.harness.size == before
            return None

        @rule(role=signer_of("campaign.add_appraisees"))
        def add_appraisee(self, role: str) -> None:
            newcomer = {
                "appraisee_id": new_id(),
                "name": "新人",
                "position": "社区居委会委员",
                "unit": "东马社区",
                "category": "cadre",
            }
            self.attempt(role, "campaign.add_appraisees", appraisees=[newcomer])

        @rule(role=signer_of("campaign.publish"))
        def publish_campaign(self, role: str) -> None:
            self.attempt(role, "campaign.publish")

        @rule(role=signer_of("balloting.open"))
        def open_meeting(self, role: str) -> None:
            meeting = new_id()
            residents, units = [Signer() for _ in range(8)], [Signer() for _ in range(3)]
            c = self.c
            opened = self.attempt(
                role,
                "balloting.open",
                meeting,
                meeting_id=meeting,
                credentials=[
                    {"group": "resident_rep", "public_keys": [k.public_key for k in residents]},
                    {"group": "unit_rep", "public_keys": [k.public_key for k in units]},
                ],
                paper=[{"group": "resident_rep", "serials": list(SERIALS)}],
                evaluators=[
                    {"group": "leading_group", "actor_ids": [s.actor_id for s in c.leaders]},
                    {"group": "city_leaders", "actor_ids": [c.city_leader.actor_id]},
                    {"group": "self", "actor_ids": [s.actor_id for s in c.cadres]},
                ],
            )
            if opened is not None:
                self.rights[meeting] = {"resident_rep": residents, "unit_rep": units}
                self.slips[meeting] = dict.fromkeys(SERIALS)
                issued = {"resident_rep": 8 + len(SERIALS), "unit_rep": 3, "leading_group": 3}
                issued |= {"city_leaders": 1, "self": len(c.cadres)}
                for group, n in issued.items():
                    self.model.issue(meeting, group, n)

        @rule(data=st.data())
        def vote(self, data: st.DataObject) -> None:
            """Every right of an open meeting spent validly (ballots themselves are
            attacked in test_hostile_input)."""
            opened = [m for m, state in self.model.meetings.items() if state == "open"]
            waiting = sorted(set(opened) - self.model.voted)
            if not waiting:
                return
            self._vote(data.draw(st.sampled_from(waiting)))

        def _vote(self, meeting: str) -> None:
            c = self.c
            rows = c.choices("excellent", "competent", "competent", "incompetent")
            voters: list[tuple[Signer, str, list[dict[str, Any]]]] = [
                (leader, "leading_group", self._scores()) for leader in c.leaders
            ]
            voters.append((c.city_leader, "city_leaders", rows))
            voters += [
                (cadre, "self", [{"appraisee_id": a, "choice": "competent"}])
                for a, cadre in zip(c.appraisees, c.cadres, strict=True)
            ]
            voters += [(key, "unit_rep", rows) for key in self.rights[meeting]["unit_rep"]]
            credentials = {key.key_id for key in self.rights[meeting]["unit_rep"]}
            for who, group, ballot_rows in voters:
                # A credential signs the meeting's opening, as the ballot page does.
                opened_at = self.api.opened_at(meeting, group)
                envelope = who.envelope(
                    "ballot.cast",
                    issued_at=parse_timestamp(opened_at) if who.key_id in credentials else None,
                    campaign_id=c.id,
                    meeting_id=meeting,
                    ballot_id=new_id(),
                    group=group,
                    rows=ballot_rows,
                )
                self.api.accepted(self.api.submit(envelope))
                self.model.cast(meeting, group, valid=True)
                self.spent.add(who.key_id)
            self.model.voted.add(meeting)

        @rule(
            data=st.data(),
            resident=st.integers(0, 7),
            choices=st.lists(st.sampled_from((*CHOICES, "abstain")), min_size=4, max_size=4),
            skew=st.sampled_from((0, 0, 0, -1, 1, 600)),
        )
        def resident_votes(
            self, data: st.DataObject, resident: int, choices: list[str], skew: int
        ) -> None:
            """A resident's credential, in any meeting, open or closed, spent or not, with
            any choices: over the 优秀 share the ballot is recorded as invalid. Signed at
            any time but its meeting's opening (`skew` seconds off) it is refused first."""
            if not self.rights:
                return
            meeting = data.draw(st.sampled_from(sorted(self.rights)))
            key = self.rights[meeting]["resident_rep"][resident]
            rows = [
                {"appraisee_id": a, "abstain": True}
                if choice == "abstain"
                else {"appraisee_id": a, "choice": choice}
                for a, choice in zip(self.c.appraisees, choices, strict=True)
            ]
            opened_at = parse_timestamp(self.api.opened_at(meeting, "resident_rep"))
            envelope = key.envelope(
                "ballot.cast",
                issued_at=opened_at + timedelta(seconds=skew),
                campaign_id=self.c.id,
                meeting_id=meeting,
                ballot_id=new_id(),
                group="resident_rep",
                rows=rows,
            )
            before = self.harness.size
            response = self.api.submit(envelope)
            if skew:
                assert response.status_code == 422, response.get_json()
                assert response.get_json()["type"] == PROBLEMS + "stale-command"
                assert response.get_json()["expected"] == format_timestamp(opened_at)
                assert self.harness.size == before
                return
            if self.model.meetings[meeting] == "closed" or key.key_id in self.spent:
                assert response.status_code == 409, response.get_json()
                assert response.get_json()["type"] == PROBLEMS + "wrong-state"
                assert self.harness.size == before
                return
            answer = self.api.accepted(response)
            assert answer["valid"] == valid_representative_ballot(rows), (rows, answer)
            self.model.cast(meeting, "resident_rep", answer["valid"])
            self.spent.add(key.key_id)

        @rule(
            data=st.data(),
            serial=st.sampled_from(SERIALS),
            choices=st.lists(st.sampled_from((*CHOICES, "abstain")), min_size=4, max_size=4),
            corrections=st.sampled_from((0, 0, 1, 2)),
        )
        def teller_enters(
            self, data: st.DataObject, serial: str, choices: list[str], corrections: int
        ) -> None:
            """The teller types in a paper slip of any meeting: once per slip while the
            meeting is open (after a voided entry, once more), invalid over the 优秀 share.
            `corrections` voids an accepted entry at once, re-enters it and voids it again,
            so that the sequences a slip allows are all met."""
            if not self.slips:
                return
            opened = [m for m in sorted(self.slips) if self.model.meetings[m] == "open"]
            anything = st.sampled_from(sorted(self.slips))
            meeting = data.draw(st.sampled_from(opened) | anything if opened else anything)
            if not self._enter(meeting, serial, choices):
                return
            if corrections:
                self._void_entry(meeting, serial)
            if corrections > 1 and self._enter(meeting, serial, choices[::-1]):
                self._void_entry(meeting, serial)

        def _enter(self, meeting: str, serial: str, choices: list[str]) -> bool:
            """Whether the entry was accepted (as the model says it must be)."""
            rows = [
                {"appraisee_id": a, "abstain": True}
                if choice == "abstain"
                else {"appraisee_id": a, "choice": choice}
                for a, choice in zip(self.c.appraisees, choices, strict=True)
            ]
            ballot_id = new_id()
            answer = self._teller_sends(
                "ballot.cast",
                refused=self.model.meetings[meeting] == "closed"
                or bool(self.slips[meeting][serial]),
                meeting_id=meeting,
                ballot_id=ballot_id,
                group="resident_rep",
                rows=rows,
                paper_serial=serial,
            )
            if answer is None:
                return False
            assert answer["valid"] == valid_representative_ballot(rows), (rows, answer)
            self.model.cast(meeting, "resident_rep", answer["valid"])
            self.slips[meeting][serial] = (ballot_id, answer["valid"])
            return True

        @rule(data=st.data())
        def teller_voids_entry(self, data: st.DataObject) -> None:
            """The teller voids their own standing entry of a slip while its meeting is
            open, once per slip; any other time it is refused and nothing is written."""
            entries = sorted(
                (meeting, serial)
                for meeting, slips in self.slips.items()
                for serial, standing in slips.items()
                if standing is not None
            )
            if not entries:
                return  # a made-up ballot id is test_teller_void's
            self._void_entry(*data.draw(st.sampled_from(entries)))

        def _void_entry(self, meeting: str, serial: str) -> None:
            standing = self.slips[meeting][serial]
            assert standing is not None
            ballot_id, valid = standing
            voided = self._teller_sends(
                "ballot.void_entry",
                refused=self.model.meetings[meeting] == "closed"
                or (meeting, serial) in self.corrected,
                meeting_id=meeting,
                ballot_id=ballot_id,
                reason="录入错误",
            )
            if voided is None:
                return
            tally = self.model.tallies[meeting]["resident_rep"]
            tally.subtract(cast=1, valid=int(valid), invalid=int(not valid))
            self.slips[meeting][serial] = None
            self.corrected.add((meeting, serial))

        def _teller_sends(
            self, command_type: str, refused: bool, **fields: Any
        ) -> dict[str, Any] | None:
            """The teller's command: accepted, or (`refused`) 409 with nothing written."""
            before = self.harness.size
            response = self.c.post(self.c.teller, command_type, **fields)
            if not refused:
                return self.api.accepted(response)
            assert response.status_code == 409, response.get_json()
            assert response.get_json()["type"] == PROBLEMS + "wrong-state"
            assert self.harness.size == before
            return None

        def _scores(self) -> list[dict[str, Any]]:
            return [
                {"appraisee_id": a, "scores": dict.fromkeys(DIMENSIONS, 90 - 5 * i)}
                for i, a in enumerate(self.c.appraisees)
            ]

        @rule(role=signer_of("balloting.close"), data=st.data())
        def close_meeting(self, role: str, data: st.DataObject) -> None:
            opened = sorted(m for m, state in self.model.meetings.items() if state == "open")
            anything = st.sampled_from([*sorted(self.model.meetings), new_id()])
            meeting = data.draw(st.sampled_from(opened) | anything if opened else anything)
            self.attempt(role, "balloting.close", meeting, meeting_id=meeting)

        @rule(role=signer_of("results.propose"))
        def propose(self, role: str) -> None:
            body = self.attempt(role, "results.propose")
            if body is not None:
                self.proposal_hash = body["proposal_hash"]

        @rule(role=signer_of("results.approve"))
        def approve(self, role: str) -> None:
            self.attempt(role, "results.approve", proposal_hash=self.proposal_hash, adjustments=[])

        @rule(role=signer_of("results.publish"))
        def publish_results(self, role: str) -> None:
            self.attempt(role, "results.publish", window_days=0)

        @rule(role=signer_of("results.finalize"))
        def finalize(self, role: str) -> None:
            self.attempt(role, "results.finalize")

        @rule()
        def advance(self) -> None:
            """The lifecycle's next step by its rightful signer, so that the attempts
            above meet every state (a random walk alone rarely gets past balloting)."""
            model = self.model
            opened = sorted(m for m, state in model.meetings.items() if state == "open")
            if opened and opened[0] not in model.voted:
                self._vote(opened[0])
            elif opened:
                self.attempt("organizer", "balloting.close", opened[0], meeting_id=opened[0])
            elif model.status == "published" and not model.meetings:
                self.open_meeting("organizer")
            elif model.status == "published":
                self.propose("organizer")
            elif model.status == "proposed":
                self.approve("committee")
            elif model.status == "approved":
                self.publish_results("admin")
            elif model.status == "publicized":
                self.finalize("admin")

        advance_again = advance  # twice as likely as any single attempt

        # --- what must hold after every step ------------------------------------------

        @invariant()
        def status_is_the_models(self) -> None:
            if not hasattr(self, "c"):
                return
            shown = self.api.read(self.c.path, self.c.organizer)
            assert shown["status"] == self.model.status, (shown, self.model)
            event(f"reached {self.model.status}")

        @invariant()
        def reconciliation_is_the_models(self) -> None:
            """issued = cast + unused, cast = valid + invalid, each as the model counted."""
            if not self.model.tallies:
                return
            shown = self.api.read(f"{self.c.path}/reconciliation", self.c.inspector)
            meetings = {m["meeting_id"]: m for m in shown["items"]}
            assert set(meetings) == set(self.model.tallies)
            for meeting, groups in self.model.tallies.items():
                for group, counts in groups.items():
                    row = meetings[meeting]["groups"][group]
                    assert row["issued"] == counts["issued"] == row["cast"] + row["unused"]
                    assert row["cast"] == counts["cast"] == row["valid"] + row["invalid"]
                    assert (row["valid"], row["invalid"]) == (counts["valid"], counts["invalid"])

    return CampaignLifecycle


def harness_opener(
    store: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[], AbstractContextManager[Harness]]:
    """A fresh store for each run of the machine."""
    runs = iter(range(1_000_000))

    def open_harness() -> AbstractContextManager[Harness]:
        data_dir = tmp_path / f"run{next(runs)}"
        if store == "sqlite":
            url = f"sqlite:///{data_dir / 'appraisal.sqlite3'}"
        else:
            url = postgres_schema_url(request.getfixturevalue("postgres_database"))
        env = {"APPRAISAL_DATA_DIR": str(data_dir), "APPRAISAL_DATABASE_URL": url}
        return Harness.initialised(Settings.from_env(env))

    return open_harness


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_every_lifecycle_command_by_every_role_in_every_state(
    store: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    machine = lifecycle_machine(harness_opener(store, request, tmp_path))
    machine.TestCase.settings = settings(
        max_examples=fuzz_examples(25),
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    machine.TestCase().runTest()


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_each_paper_slip_path_in_a_fixed_order(
    store: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The teller's paths, which the random walk above meets only in some runs, taken in
    one fixed sequence through the same machine and model: an entry, a second entry of
    the same slip, its void, the entry once more, a second void, an invalid slip, and
    after the close an entry and a void; the reconciliation and the audit agree."""
    machine = lifecycle_machine(harness_opener(store, request, tmp_path))()
    try:
        machine.create_campaign()
        machine.open_meeting("organizer")
        [meeting] = machine.slips
        first, second = SERIALS
        valid = ["competent", "competent", "incompetent", "abstain"]
        assert machine._enter(meeting, first, valid)
        assert not machine._enter(meeting, first, valid)  # the slip is entered already
        machine._void_entry(meeting, first)
        assert machine.slips[meeting][first] is None
        assert machine._enter(meeting, first, valid[::-1])  # once more, after its void
        machine._void_entry(meeting, first)  # refused: one correction per slip
        assert machine.slips[meeting][first] is not None
        assert machine._enter(meeting, second, ["excellent"] * 4)
        assert [machine.slips[meeting][serial][1] for serial in SERIALS] == [True, False]
        machine.reconciliation_is_the_models()
        machine.attempt("organizer", "balloting.close", meeting, meeting_id=meeting)
        machine._void_entry(meeting, second)  # refused: the meeting is closed
        machine.reconciliation_is_the_models()
        counts = machine.model.tallies[meeting]["resident_rep"]
        assert (counts["cast"], counts["valid"], counts["invalid"]) == (2, 1, 1)
    finally:
        machine.teardown()
