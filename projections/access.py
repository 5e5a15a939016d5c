"""What every read shares: read-your-writes and who may see what.

Inspectors and auditors (PRIVILEGED) see everything. Everyone else never sees who
signed a ballot, and does not see a group's breakdown for an appraisee when the
group has fewer ballots than its anonymity floor (the rules group's
`anonymity_floor`, by default its `min_ballots`): a handful of ballots would
otherwise let a reader guess who voted how.
"""

import json
from collections.abc import Collection
from typing import Any
from uuid import UUID

from domain.errors import NotFound
from domain.roles import PRIVILEGED
from projections.read_side import ReadSide
from projections.store import ViewStore

DEFAULT_WAIT_SECONDS = 2.0


def ready(read: ReadSide, min_position: int | None, timeout: float) -> ViewStore:
    """The views, once they include the event at ledger index `min_position`."""
    views = read.queried
    if min_position is not None:
        views.wait_for(min_position, timeout)
    return views


def privileged(roles: Collection[str]) -> bool:
    return bool(PRIVILEGED & set(roles))


def hidden(ballots: int, floor: int, roles: Collection[str]) -> bool:
    """Whether a group's breakdown for one appraisee must be withheld from this caller."""
    return ballots < floor and not privileged(roles)


def floors(campaign_row: dict[str, Any]) -> dict[str, int]:
    """Each group's anonymity floor, from a `campaigns` view row."""
    return {g["code"]: g["anonymity_floor"] for g in json.loads(campaign_row["group_rules"])}


def uuid_text(value: str, what: str) -> str:
    """Ids are stored in canonical UUID form; anything else names nothing."""
    try:
        return str(UUID(str(value)))
    except ValueError:
        raise NotFound(f"no {what} {value}") from None


def campaign_row(views: ViewStore, campaign_id: str) -> dict[str, Any]:
    campaign_id = uuid_text(campaign_id, "campaign")
    with views.reading() as tx:
        row = tx.one("SELECT * FROM {campaigns} WHERE campaign_id = ?", campaign_id)
    if row is None:
        raise NotFound(f"no campaign {campaign_id}")
    return row
