"""Campaign snapshots on both stores: a campaign loaded from its latest snapshot (by
`at_version`; `find` through the campaign cache; `load_many` replays) equals the same
campaign replayed from its events alone, after every command of a random sequence,
accepted or refused; snapshots are no ledger leaves, are not in the audit bundle, and
`audit verify` passes without them."""

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.domain import Snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.campaign import Campaign as CampaignAggregate
from domain.errors import Conflict, DomainError
from service.application import AppraisalApplication
from tests.integration.test_audit import export, verify
from tests.support import Harness, RawStore, Signer, fuzz_examples
from tests.support.scenario import PARTY_BUILDING, RULES, CityCampaign, new_id

# The seed's rules with an assessment declared, so that the "assess" step is recorded.
ASSESSED_RULES = {**RULES, "assessments": [PARTY_BUILDING]}
# Snapshots this often here (the store's interval is longer), so that a random sequence of
# a few dozen commands crosses several.
INTERVAL = 7


@pytest.fixture(autouse=True)
def _snapshots_often(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(AppraisalApplication.snapshotting_intervals, CampaignAggregate, INTERVAL)


STEPS = ("amend", "add", "work_groups", "publish", "open", "close", "assess")
SNAPSHOT_SETTINGS = settings(
    max_examples=fuzz_examples(4),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def replayed(app: AppraisalApplication, campaign_id: uuid.UUID) -> Any:
    """The campaign from its events only, as the audit sees it: no snapshot involved."""
    aggregate = None
    for event in app.events.get(campaign_id):
        aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]
    return aggregate


class Driver:
    """Sends one step of a random sequence; refusals are part of the sequence."""

    def __init__(self, harness: Harness) -> None:
        self.c = CityCampaign(harness)
        self.c.send(
            self.c.organizer,
            "campaign.create",
            title="t0",
            year=2025,
            rules=ASSESSED_RULES,
            jurisdiction="某市",
        )
        self.open_meetings: list[str] = []
        self.added = 0

    def step(self, name: str) -> None:
        c = self.c
        try:
            if name == "amend":
                c.send(c.organizer, "campaign.amend", title=new_id())
            elif name == "add":
                self._add()
            elif name == "work_groups":
                c.send(
                    c.organizer,
                    "campaign.set_work_groups",
                    leading_group=[{"name": new_id()}],
                    work_groups=[],
                )
            elif name == "publish":
                c.send(c.organizer, "campaign.publish")
            elif name == "open":
                self.open()
            elif name == "close" and self.open_meetings:
                c.send(c.organizer, "balloting.close", meeting_id=self.open_meetings.pop())
            elif name == "assess" and self.added:
                c.send(
                    c.organizer,
                    "assessment.record",
                    appraisee_id=c.appraisees[0],
                    assessment="party_building",
                    value="good",
                )
        except DomainError:
            pass

    def _add(self) -> None:
        c = self.c
        cadre = c.h.register("cadre", name="干部")
        appraisee = new_id()
        c.send(
            c.organizer,
            "campaign.add_appraisees",
            appraisees=[
                {
                    "appraisee_id": appraisee,
                    "name": "干部",
                    "position": "社区党支部书记",
                    "unit": "东马社区",
                    "category": "cadre",
                    "actor_id": cadre.actor_id,
                }
            ],
        )
        c.appraisees.insert(0, appraisee)
        self.added += 1

    def open(self) -> None:
        c = self.c
        meeting = new_id()
        keys = [Signer(key=Ed25519PrivateKey.generate()).public_key for _ in range(11)]
        c.send(
            c.organizer,
            "balloting.open",
            meeting_id=meeting,
            credentials=[
                {"group": "resident_rep", "public_keys": keys[:8]},
                {"group": "unit_rep", "public_keys": keys[8:]},  # the quorum's 3
            ],
            evaluators=[
                {"group": "leading_group", "actor_ids": [s.actor_id for s in c.leaders]},
                {"group": "city_leaders", "actor_ids": [c.city_leader.actor_id]},
            ],
        )
        self.open_meetings.append(meeting)


def _assert_snapshot_loads_equal_replay(harness: Harness, campaign_id: uuid.UUID) -> None:
    app = harness.system.app
    expected = vars(replayed(app, campaign_id))
    assert vars(app.at_version(campaign_id)) == expected  # from the snapshot, past the cache
    assert vars(app.find(campaign_id)) == expected
    assert vars(app.load_many([campaign_id])[campaign_id]) == expected


@SNAPSHOT_SETTINGS
@given(steps=st.lists(st.sampled_from(STEPS), min_size=25, max_size=60))
def test_a_campaign_loaded_from_snapshots_equals_its_replay(
    harness: Harness, steps: list[str]
) -> None:
    d = Driver(harness)
    campaign_id = uuid.UUID(d.c.id)
    for name in ["add", *steps]:
        d.step(name)
        _assert_snapshot_loads_equal_replay(harness, campaign_id)


def test_snapshots_are_not_ledger_leaves_nor_in_the_bundle(
    harness: Harness, tmp_path: Path
) -> None:
    d = Driver(harness)
    campaign_id = uuid.UUID(d.c.id)
    d.step("add")
    while harness.system.app.find(campaign_id).version < 2 * INTERVAL + 1:
        d.step("amend")
    app = harness.system.app
    snapshots = list(app.snapshots.get(campaign_id)) if app.snapshots else []
    assert [s.originator_version for s in snapshots] == [2 * INTERVAL]
    assert isinstance(app.find(campaign_id), CampaignAggregate)
    _assert_snapshot_loads_equal_replay(harness, campaign_id)
    raw = RawStore(harness.system.settings)
    try:
        [(events,)] = raw.execute("SELECT COUNT(*) FROM {events}")
        [(leaves,)] = raw.execute("SELECT COUNT(*) FROM {ledger_leaves}")
    finally:
        raw.close()
    assert events == leaves == harness.size
    records = export(harness, tmp_path / "bundle.jsonl")
    assert "Snapshot" not in json.dumps(records)
    code, report = verify(harness, tmp_path / "bundle.jsonl")
    assert code == 0, report


def test_a_snapshot_from_before_the_appraisee_index_is_replayed(harness: Harness) -> None:
    """A campaign snapshot written before campaigns kept `appraisee_meetings` (class
    version 1) cannot tell where the one-vote rule must look: `find` replays the stream
    instead, so an evaluator with a standing ballot is still refused."""
    d = Driver(harness)
    campaign_id = uuid.UUID(d.c.id)
    for name in ("add", "add", "publish", "open"):
        d.step(name)
    app = harness.system.app
    campaign = app.find(campaign_id)
    assert campaign.version % INTERVAL, "a snapshot already stands there"
    taken = Snapshot.take(campaign)
    state = {
        k: v for k, v in taken.state.items() if k not in ("appraisee_meetings", "class_version")
    }
    assert app.snapshots is not None
    app.snapshots.put(
        [
            Snapshot(
                originator_id=taken.originator_id,
                originator_version=taken.originator_version,
                timestamp=taken.timestamp,
                topic=taken.topic,
                state=state,
            )
        ]
    )
    assert app.repository.get(campaign_id).from_outdated_snapshot
    _assert_snapshot_loads_equal_replay(harness, campaign_id)
    # The read side replays a campaign from the version before each event it projects.
    at = app.at_version(campaign_id, campaign.version)
    assert vars(at) == vars(replayed(app, campaign_id))
    assert app.find(campaign_id).meetings_appraising(d.c.appraisees) == d.open_meetings
    with pytest.raises(Conflict):
        d.open()


def test_each_campaign_keeps_only_its_newest_snapshot(harness: Harness) -> None:
    """Pruning deletes a campaign's older snapshots and nobody else's."""
    drivers = [Driver(harness), Driver(harness)]
    app = harness.system.app
    assert app.snapshots is not None
    for d in drivers:
        d.step("add")
    target = 2 * INTERVAL + 3
    while any(app.find(uuid.UUID(d.c.id)).version < target for d in drivers):
        for d in drivers:
            d.step("amend")
    for d in drivers:
        campaign_id = uuid.UUID(d.c.id)
        kept = [s.originator_version for s in app.snapshots.get(campaign_id)]
        assert kept == [2 * INTERVAL]
        _assert_snapshot_loads_equal_replay(harness, campaign_id)
