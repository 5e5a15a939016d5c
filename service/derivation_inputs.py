"""Loading what a campaign's derivation reads (`domain.derivation.DerivationInputs`), in a
few batched reads, from the live store or an audit bundle replayed offline."""

from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from uuid import UUID

from domain.campaign import Campaign
from domain.derivation import DerivationInputs, history_ids


class EventSource(Protocol):
    """Where aggregates come from: the live store, or an audit bundle replayed offline."""

    def load_many(self, aggregate_ids: Iterable[UUID]) -> Mapping[UUID, Any]: ...

    def positions_of(self, streams: Iterable[UUID]) -> dict[tuple[UUID, int], int]: ...


def load_inputs(source: EventSource, campaign: Campaign) -> DerivationInputs:
    """Every ballot cast in the campaign's meetings (found through the spent rights),
    their ledger positions, each meeting's appraisees and the appraisees' grade histories."""
    meetings = source.load_many(UUID(m) for m in campaign.meetings)
    rights = source.load_many(UUID(r) for m in meetings.values() for r in m.rights)
    ballots = source.load_many(UUID(r.ballot_id) for r in rights.values() if r.ballot_id)
    positions = source.positions_of(ballots)
    return DerivationInputs(
        ballots=ballots,
        positions={stream: index for (stream, version), index in positions.items() if version == 1},
        appraised={str(m_id): m.appraisees for m_id, m in meetings.items()},
        histories=source.load_many(history_ids(campaign)),
    )
