"""Group commit and batched reads on both stores: fewer transactions, same answers."""

import threading
import time
import uuid
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from domain import merkle
from domain.entries import Entry
from domain.registry import KeyBinding
from service.group_commit import GroupCommit
from service.read_cache import ReadCache
from service.recorders import LedgerCorrupt
from tests.support import Harness, RawStore, Signer

WAITING = 5


def binding() -> KeyBinding:
    return KeyBinding(id=uuid.uuid4(), key_id=uuid.uuid4().hex, holder="test", holder_id="-")


class CountingRecords:
    """Stands in for the application's `record`: counts transactions and can hold the
    first one open until told, so that other writers queue behind it."""

    def __init__(self, harness: Harness) -> None:
        self.record = harness.system.app.record
        self.calls: list[int] = []
        self.release = threading.Event()
        self.entered = threading.Event()

    def __call__(self, *events: Any, **kwargs: Any) -> Any:
        self.calls.append(len(events))
        if len(self.calls) == 1:
            self.entered.set()
            self.release.wait(timeout=30)
        return self.record(*events, **kwargs)


def queued(writer: GroupCommit, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(writer._queue) < count:
        assert time.monotonic() < deadline, "the writers never queued"
        time.sleep(0.005)


def test_writers_arriving_during_a_write_share_the_next_transaction(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = GroupCommit(harness.system.app)
    records = CountingRecords(harness)
    monkeypatch.setattr(writer.app, "record", records)
    results: dict[int, Any] = {}

    def write(n: int) -> None:
        results[n] = writer.write([[binding()]])

    first = threading.Thread(target=write, args=(0,))
    first.start()
    assert records.entered.wait(timeout=30)
    others = [threading.Thread(target=write, args=(n,)) for n in range(1, WAITING + 1)]
    for thread in others:
        thread.start()
    queued(writer, WAITING)
    records.release.set()
    for thread in [first, *others]:
        thread.join(timeout=30)

    assert records.calls == [1, WAITING]
    leaves = [results[n][0] for n in range(WAITING + 1)]
    assert all(isinstance(written, list) and len(written) == 1 for written in leaves)
    indexes = sorted(written[0].index for written in leaves)
    assert indexes == list(range(indexes[0], indexes[0] + WAITING + 1))
    for written in leaves:
        stored = harness.system.app.ledger.ledger_entries(written[0].index, written[0].index + 1)
        entry = Entry(written[0].stream, 1, stored[0]["topic"], stored[0]["state"])
        assert merkle.leaf_hash(entry.leaf_input()) == written[0].leaf_hash


def actor_id(harness: Harness) -> uuid.UUID:
    return uuid.UUID(harness.register("organizer").actor_id)


def test_two_commands_on_one_stream_never_share_a_transaction(harness: Harness) -> None:
    app = harness.system.app
    stored = actor_id(harness)
    first, second = app.find(stored), app.find(stored)
    first.grant_roles(["teller"], envelope={})
    second.grant_roles(["inspector"], envelope={})
    other = binding()
    size = harness.size

    written = GroupCommit(app).write([[first], [second], [other]])

    assert isinstance(written[0], list) and len(written[0]) == 1
    assert isinstance(written[1], IntegrityError)
    assert isinstance(written[2], list) and len(written[2]) == 1
    assert harness.size == size + 2
    assert "teller" in app.find(stored).roles and "inspector" not in app.find(stored).roles


def test_a_failed_shared_transaction_writes_the_others_alone(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = harness.system.app
    stored = actor_id(harness)
    stale = app.find(stored)
    newer = app.find(stored)
    newer.grant_roles(["teller"], envelope={})
    app.record(newer)  # a concurrent writer got there first
    stale.grant_roles(["inspector"], envelope={})
    fresh = binding()
    records = CountingRecords(harness)
    records.release.set()
    monkeypatch.setattr(app, "record", records)

    written = GroupCommit(app).write([[fresh], [stale]])

    assert records.calls == [2, 1, 1]  # together, then each alone
    assert isinstance(written[0], list) and written[0][0].stream == fresh.id
    assert isinstance(written[1], IntegrityError)
    assert app.find(fresh.id) is not None
    assert "teller" in app.find(stored).roles and "inspector" not in app.find(stored).roles


def test_concurrent_commands_through_the_bus_are_each_recorded_once(harness: Harness) -> None:
    registered: list[tuple[str, Any]] = []

    def register_some() -> None:
        for _ in range(5):
            person = Signer()
            envelope = harness.admin.envelope(
                "actor.register",
                actor_id=person.actor_id,
                name="Someone",
                roles=["organizer"],
                public_key=person.public_key,
            )
            registered.append((person.actor_id, harness.submit(envelope)))

    threads = [threading.Thread(target=register_some) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(registered) == 40
    assert len({accepted.position for _, accepted in registered}) == 40
    app = harness.system.app
    for actor, accepted in registered:
        assert app.find(uuid.UUID(actor)) is not None
        record = app.ledger.ledger_entries(accepted.position, accepted.position + 1)[0]
        assert record["stream"] == uuid.UUID(accepted.command_id)


def test_a_batched_read_remembers_absent_records_and_rereads_changed_ones(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = harness.system.app
    present, absent = actor_id(harness), uuid.uuid4()
    reads = ReadCache(app)
    reads.prefetch([present, absent])

    def no_single_reads(aggregate_id: uuid.UUID) -> None:
        raise AssertionError(f"{aggregate_id} was read again")

    monkeypatch.setattr(app, "find", no_single_reads)
    assert reads.find(absent) is None
    found = reads.find(present)
    assert found is not None and found.version == 1
    found.grant_roles(["teller"], envelope={})
    monkeypatch.undo()

    again = reads.find(present)
    assert again is not found and again.version == 1 and not again.pending_events
    assert reads.load_many([present, absent]) == {present: again}


def test_the_frontier_read_with_the_insert_matches_a_tree_built_in_memory(
    harness: Harness,
) -> None:
    app = harness.system.app
    for count in (1, 2, 3, 5, 8, 13):
        app.record(*(binding() for _ in range(count)))
    size = harness.size
    entries = app.ledger.ledger_entries(0, size)
    leaves = [
        merkle.leaf_hash(Entry(e["stream"], e["version"], e["topic"], e["state"]).leaf_input())
        for e in entries
    ]
    stored = app.ledger.ledger_nodes(merkle.root_plan(size))
    assert merkle.fold([stored[node] for node in merkle.root_plan(size)]) == _root(leaves)


def _root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(_root(leaves[:k]), _root(leaves[k:]))


def test_an_append_over_a_missing_node_is_refused_and_writes_nothing(harness: Harness) -> None:
    app = harness.system.app
    while harness.size % 2 == 0:  # the next leaf then completes a node with its left sibling
        app.record(binding())
    size = harness.size
    raw = RawStore(harness.system.settings)
    try:
        raw.execute("DELETE FROM {ledger_nodes} WHERE level = 0 AND node_index = ?", size - 1)
        with pytest.raises(LedgerCorrupt) as refused:
            app.record(binding())
        events = raw.execute("SELECT COUNT(*) FROM {events}")[0][0]
    finally:
        raw.close()
    assert refused.value.position == size - 1
    assert harness.size == size
    assert events == size


def test_a_value_derived_from_reads_is_computed_once_per_request(harness: Harness) -> None:
    reads = ReadCache(harness.system.app)
    computed: list[int] = []

    def compute() -> str:
        computed.append(1)
        return "parsed"

    assert reads.derived(("rules", 1), compute) == "parsed"
    assert reads.derived(("rules", 1), compute) == "parsed"
    assert reads.derived(("rules", 2), compute) == "parsed"
    assert len(computed) == 2
    assert ReadCache(harness.system.app).derived(("rules", 1), compute) == "parsed"
    assert len(computed) == 3
