"""The stored aggregates a group of commands reads, fetched together.

Deciding a ballot reads about six records (the command id, the signer's key binding
and holder, the meeting, the ballot right, the ballot id). Read one query each,
that is most of the cost of a teller's batch; read together, it is two queries for
the whole batch. A cache lives for one request only, so nothing here outlives the
stored state it was read from.
"""

from collections.abc import Callable, Hashable, Iterable
from typing import Any
from uuid import UUID

from service.application import AppraisalApplication


class ReadCache:
    def __init__(self, app: AppraisalApplication) -> None:
        self.app = app
        self._found: dict[UUID, Any | None] = {}
        self._derived: dict[Hashable, Any] = {}

    def prefetch(self, ids: Iterable[UUID]) -> None:
        """Load every id not read yet in one batched read; absent ones are remembered too."""
        missing = [i for i in dict.fromkeys(ids) if i not in self._found]
        if not missing:
            return
        loaded = self.app.load_many(missing)
        for aggregate_id in missing:
            self._found[aggregate_id] = loaded.get(aggregate_id)

    def find(self, aggregate_id: UUID) -> Any | None:
        """The aggregate as stored, or None. One a command has changed (it has pending
        events) is read afresh: a later command must be decided on stored state."""
        aggregate = self._found.get(aggregate_id)
        if aggregate_id not in self._found or _changed(aggregate):
            aggregate = self._found[aggregate_id] = self.app.find(aggregate_id)
        return aggregate

    def derived(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """A value computed once per request from records read here (a meeting's parsed
        rules for every ballot of a teller's batch); `key` must name its sources'
        versions."""
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    def load_many(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Any]:
        ids = list(dict.fromkeys(aggregate_ids))
        stale = [i for i in ids if _changed(self._found.get(i))]
        for aggregate_id in stale:
            del self._found[aggregate_id]
        self.prefetch(ids)
        return {i: self._found[i] for i in ids if self._found[i] is not None}


def _changed(aggregate: Any | None) -> bool:
    return aggregate is not None and bool(getattr(aggregate, "pending_events", None))
