"""Campaigns kept in memory between commands, brought up to date from the store.

Why: a campaign's snapshot holds its roster, about 0.35 KB per appraisee (3.7 MB at
2,484 communities), and decoding it for every command made a campaign command cost
grow with the city (W9). A campaign read once is kept here as stored; the next read
applies only the events recorded since, by any process, and hands out a copy
(`Campaign.__copy__`). The store stays the truth: nothing here is ever written back,
and each command decides on its own copy, so a command that is refused or fails to
save leaves the kept campaign as it was.
"""

import copy
from collections import OrderedDict
from collections.abc import Callable, Iterable
from threading import Lock
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.aggregate import applied
from domain.campaign import Campaign

# Enough for the campaigns a jurisdiction runs at once; each holds its roster (a
# 2,484-community one is a 3.7 MB snapshot, several times that as Python objects).
CAMPAIGNS_KEPT = 8

EventsAfter = Callable[[UUID, int], Iterable[Any]]


class CampaignCache:
    # Tests set this: every read is then compared with the campaign replayed from the
    # store, so a handed-out copy that changed what it shares with the kept one, or a
    # missed event, fails the test that caused it.
    checked: ClassVar[bool] = False

    def __init__(
        self,
        events_after: EventsAfter,
        load: Callable[[UUID], Campaign],
        capacity: int = CAMPAIGNS_KEPT,
    ) -> None:
        self._events_after = events_after
        self._load = load
        self._capacity = capacity
        self._kept: OrderedDict[UUID, Campaign] = OrderedDict()
        self._lock = Lock()

    def get(self, campaign_id: UUID) -> Campaign | None:
        """A copy of the campaign as now stored, or None when it is not kept (or no longer
        as stored: the caller then reads it from the store)."""
        with self._lock:
            kept: Aggregate | None = self._kept.get(campaign_id)
            if kept is None:
                return None
            # From the kept version's own event, which must still be the one kept: a store
            # restored from an earlier backup has lost it (or, written to since, holds
            # another), and the kept campaign is dropped.
            events = iter(self._events_after(campaign_id, kept.version - 1))
            last = next(events, None)
            if last is None or (last.originator_version, last.timestamp) != (
                kept.version,
                kept.modified_on,
            ):
                del self._kept[campaign_id]
                return None
            try:
                kept = applied(kept, events)
            except Exception:
                del self._kept[campaign_id]  # half brought up to date: read it afresh
                raise
            assert isinstance(kept, Campaign)
            self._kept[campaign_id] = kept
            self._kept.move_to_end(campaign_id)
            if self.checked:
                _require_same(kept, self._load(campaign_id))
            return copy.copy(kept)

    def keep(self, campaign: Campaign) -> None:
        """Keep a copy of a campaign just loaded from the store (the caller keeps its own)."""
        with self._lock:
            self._kept[campaign.id] = copy.copy(campaign)
            self._kept.move_to_end(campaign.id)
            while len(self._kept) > self._capacity:
                self._kept.popitem(last=False)


def _require_same(kept: Campaign, stored: Campaign) -> None:
    differing = sorted(k for k in vars(stored) if vars(kept).get(k) != vars(stored)[k])
    if differing or vars(kept).keys() != vars(stored).keys():
        raise AssertionError(f"kept campaign {kept.id} differs from the store in {differing}")
