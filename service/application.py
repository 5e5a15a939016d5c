"""The event-sourced application: one store, one ledger, every aggregate type.

All aggregates share one event table so that every stored event is a leaf of
the one Merkle tree an auditor verifies (DESIGN §6).
"""

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate, CanMutateProtocol, DomainEventProtocol, Snapshot
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from eventsourcing.utils import Environment

from domain.aggregate import applied
from domain.campaign import Campaign
from domain.errors import NotFound
from service.campaign_cache import CampaignCache
from service.keyfiles import PRIVATE_DIR, private_dir, private_file
from service.recorders import LEDGER_SINK, LeafRecord, LedgerRecorder, prune_snapshots
from service.settings import APPLICATION_NAME, Settings

A = TypeVar("A", bound=Aggregate)

# A campaign's stream grows with every meeting opened and closed; loading it from its
# latest snapshot reads at most this many events (docs/DECISIONS.md, "Campaign snapshots").
# A snapshot holds the roster, so writing one costs what the roster costs; with campaigns
# kept in memory (`campaigns`) only a process's first read of one loads it from there.
CAMPAIGN_SNAPSHOT_INTERVAL = 100


class AppraisalApplication(Application[UUID]):
    """Snapshots live in the library's own table beside the events: they are not events,
    so they are never ledger leaves, never exported and never audited; the audit
    re-derives everything from events alone."""

    name = APPLICATION_NAME
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Campaign: CAMPAIGN_SNAPSHOT_INTERVAL}

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        env = settings.store_env()
        private_dir(settings.data_dir)
        settings.data_dir.chmod(PRIVATE_DIR)
        if "SQLITE_DBNAME" in env:
            # SQLite gives its -wal and -shm files the database file's mode.
            database = Path(env["SQLITE_DBNAME"])
            private_dir(database.parent)
            private_file(database)
        super().__init__(env=env)
        self.campaigns = CampaignCache(
            lambda campaign_id, version: self.events.get(campaign_id, gt=version),
            load=lambda campaign_id: self.at_version(campaign_id),
        )

    def construct_env(self, name: str, env: Any = None) -> Environment:
        """Only our own settings: an inherited variable such as a compressor topic
        must not change how events are stored, because auditors read them raw."""
        return Environment(name, {**dict(env or {}), "IS_SNAPSHOTTING_ENABLED": "y"})

    @property
    def ledger(self) -> LedgerRecorder:
        recorder = self.recorder
        assert isinstance(recorder, LedgerRecorder)
        return recorder

    def record(
        self,
        *items: Aggregate | DomainEventProtocol[UUID] | None,
        recorded: Iterable[Aggregate] = (),
    ) -> list[LeafRecord]:
        """Save aggregates (or their collected events) atomically and say where each new
        event landed in the ledger; `recorded` names the aggregates of events passed
        collected, so that a snapshot can be taken of them.

        `save` would test every item against the library's runtime protocols, which
        costs more than encoding the event on a ballot's write path; the items here are
        our aggregates or their events, told apart by class."""
        sink: list[LeafRecord] = []
        processing = ProcessingEvent[UUID]()
        for item in items:
            if isinstance(item, Aggregate):
                processing.events.extend(item.collect_events())
                processing.aggregates[item.id] = item
            elif item is not None:
                processing.events.append(item)
        for aggregate in recorded:
            processing.aggregates[aggregate.id] = aggregate
        processing.saved_kwargs[LEDGER_SINK] = sink
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)
        return sink

    def _take_snapshots(self, processing: ProcessingEvent[UUID]) -> None:
        """Snapshot an aggregate whose new events crossed a multiple of its interval, from
        the aggregate just recorded: the library's `take_snapshot` would replay it again.
        Only the newest snapshot of an aggregate is kept."""
        assert self.snapshots is not None
        new_events = Counter(event.originator_id for event in processing.events)
        snapshots = []
        for aggregate_id, aggregate in processing.aggregates.items():
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval is None:
                continue
            version = aggregate.version
            if version // interval > (version - new_events[aggregate_id]) // interval:
                snapshots.append(Snapshot.take(aggregate))
        if snapshots:
            self.snapshots.put(snapshots)
            recorder = self.snapshots.recorder
            assert isinstance(recorder, SQLiteAggregateRecorder | PostgresAggregateRecorder)
            prune_snapshots(recorder, [(s.originator_id, s.originator_version) for s in snapshots])

    def find(self, aggregate_id: UUID) -> Any | None:
        """The aggregate as now stored, or None; a campaign read before comes from
        `campaigns`, brought up to date there."""
        kept = self.campaigns.get(aggregate_id)
        if kept is not None:
            return kept
        try:
            found = self.at_version(aggregate_id)
        except AggregateNotFoundError:
            return None
        if isinstance(found, Campaign):
            self.campaigns.keep(found)
        return found

    def at_version(self, aggregate_id: UUID, version: int | None = None) -> Any:
        """The aggregate at `version` (None: the latest), from its latest snapshot up to
        there if it has one; a campaign whose snapshot predates what campaigns keep now is
        replayed from its events instead, until the next snapshot (taken from a replayed
        campaign) replaces it. AggregateNotFoundError when there is none."""
        found: Any = self.repository.get(aggregate_id, version=version)
        if isinstance(found, Campaign) and found.from_outdated_snapshot:
            found = applied(None, self.events.get(aggregate_id, lte=version))
        return found

    def get(self, aggregate_id: UUID, kind: type[A]) -> A:
        """The aggregate, which must exist and be a `kind`: NotFound otherwise."""
        found = self.find(aggregate_id)
        if not isinstance(found, kind):
            raise NotFound(f"no {kind.__name__} {aggregate_id}")
        return found

    def positions_of(self, streams: Iterable[UUID]) -> dict[tuple[UUID, int], int]:
        return self.ledger.positions_of(streams)

    def load_many(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Any]:
        """Replay many aggregates from one batched read (proposals, tallies, audits).

        Why not from snapshots: only campaigns have snapshots, and campaigns are loaded
        by `find`, never in bulk. Asking the snapshot table about every id of a batch made
        the batch's query 10-20 times slower on SQLite (docs/DECISIONS.md)."""
        aggregates: dict[UUID, Any] = {}
        for stored in self.ledger.events_of(aggregate_ids):
            domain_event = cast(CanMutateProtocol[Aggregate], self.mapper.to_domain_event(stored))
            stream = cast(UUID, stored.originator_id)
            aggregates[stream] = domain_event.mutate(aggregates.get(stream))
        return aggregates
