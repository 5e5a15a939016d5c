"""What every read shares: read-your-writes and who may see what.

Inspectors and auditors (PRIVILEGED) see everything. Everyone else never sees who
signed a ballot, and does not see a group's breakdown for an appraisee when the
group has fewer ballots than its anonymity floor (the rules group's
`anonymity_floor`, by default its `min_ballots`): a handful of ballots would
otherwise let a reader guess who voted how.

Hiding the group alone is not enough: hidden = (total − Σ visible weight × score) /
hidden weight recovers it from the exact total and the other groups. So when any group
with ballots in an appraisee's result is hidden from the caller, the result is *shielded*
(`disclosure`): no group's score is shown (all read `hidden`), the exact total is
withheld, and the total rounded for display is shown only when at least two groups
contribute to it, so it stays one equation in two or more unknown group scores. Grade,
rank, status and flags stay.
"""

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Disclosure:
    """What one caller may see of one appraisee's result."""

    groups: frozenset[str]  # the groups whose breakdown is shown
    exact_total: bool  # `score_exact`
    rounded_total: bool  # `score`


def disclosure(
    groups: Mapping[str, Mapping[str, Any]], group_floors: Mapping[str, int], roles: Collection[str]
) -> Disclosure:
    """The differencing rule (module docstring) for one result's `groups` (code ->
    {ballots, missing, …})."""
    concealed = {c for c, g in groups.items() if hidden(g["ballots"], group_floors[c], roles)}
    if not any(groups[c]["ballots"] for c in concealed):  # an empty group hides no vote
        return Disclosure(frozenset(groups) - concealed, exact_total=True, rounded_total=True)
    contributing = sum(1 for g in groups.values() if g["ballots"] and not g.get("missing"))
    return Disclosure(frozenset(), exact_total=False, rounded_total=contributing >= 2)


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
