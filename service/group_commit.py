"""Group commit: commands decided at the same time are written in one transaction.

Every write takes the store's insert lock (it keeps the ledger's leaves dense and in
commit order), so writers queue for it and each pays a transaction of its own. Here
a thread that finds no write in progress writes everything queued so far, its own
commands included, in one transaction, while the threads arriving meanwhile queue for
the next one. A lone request waits for nobody; under load one lock and one commit
serve many ballots.

Each command still gets its own events, leaves and command record. Commands that
change the same stream never share a transaction, and when a shared transaction
fails each of its commands is tried alone, so one command's conflict refuses no
other.
"""

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from service.application import AppraisalApplication
from service.recorders import LeafRecord


@dataclass
class _Write:
    """One command's new events, and what became of them."""

    events: list[Any]
    streams: frozenset[UUID]
    aggregates: Sequence[Aggregate]  # whose events these are: what a snapshot is taken of
    leaves: list[LeafRecord] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False


Written = list[LeafRecord] | BaseException


class GroupCommit:
    def __init__(self, app: AppraisalApplication) -> None:
        self.app = app
        self._turn = threading.Condition()
        self._queue: list[_Write] = []
        self._writing = False

    def write(self, commands: Sequence[Sequence[Aggregate]]) -> list[Written]:
        """Record each command's aggregates; per command, its leaves in write order or
        the error that kept it out (IntegrityError on a conflicting concurrent change)."""
        writes = [_collect(aggregates) for aggregates in commands]
        with self._turn:
            self._queue.extend(writes)
            while not all(w.done for w in writes):
                if self._writing:
                    self._turn.wait()
                    continue
                self._writing = True
                taken, self._queue = self._queue, []
                self._turn.release()
                try:
                    self._write_all(taken)
                finally:
                    self._turn.acquire()
                    self._writing = False
                    self._turn.notify_all()
        return [w.error if w.error is not None else w.leaves for w in writes]

    def _write_all(self, writes: list[_Write]) -> None:
        try:
            for group in _disjoint_groups(writes):
                self._write_group(group)
        finally:
            for w in writes:
                if not w.done:
                    w.error = w.error or RuntimeError("the write was abandoned")
                    w.done = True

    def _write_group(self, group: list[_Write]) -> None:
        try:
            leaves = self.app.record(
                *(event for w in group for event in w.events),
                recorded=[aggregate for w in group for aggregate in w.aggregates],
            )
        except IntegrityError as error:
            if len(group) == 1:
                _finish(group[0], error=error)
            else:
                for w in group:
                    self._write_group([w])
            return
        except Exception as error:
            for w in group:
                _finish(w, error=error)
            return
        by_stream: dict[UUID, list[LeafRecord]] = {}
        for leaf in leaves:
            by_stream.setdefault(leaf.stream, []).append(leaf)
        for w in group:
            _finish(
                w,
                leaves=sorted(
                    (leaf for stream in w.streams for leaf in by_stream.get(stream, ())),
                    key=lambda leaf: leaf.index,
                ),
            )


def _collect(aggregates: Sequence[Aggregate]) -> _Write:
    events = [event for aggregate in aggregates for event in aggregate.collect_events()]
    return _Write(events, frozenset(event.originator_id for event in events), aggregates)


def _disjoint_groups(writes: list[_Write]) -> list[list[_Write]]:
    """Transactions to write, in queue order, none holding two commands on one stream."""
    groups: list[tuple[list[_Write], set[UUID]]] = []
    for w in writes:
        for members, streams in groups:
            if streams.isdisjoint(w.streams):
                members.append(w)
                streams |= w.streams
                break
        else:
            groups.append(([w], set(w.streams)))
    return [members for members, _ in groups]


def _finish(
    write: _Write, leaves: list[LeafRecord] | None = None, error: BaseException | None = None
) -> None:
    write.leaves = leaves or []
    write.error = error
    write.done = True
