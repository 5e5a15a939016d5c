"""What every read endpoint shares: who may read, paging, read-your-writes.

Reads are answered from the projections (`projections.queries`), which trail
the ledger by a moment. A client that has just written passes the command's
`position` as `?min_position=`; the read waits up to `read_wait_seconds` for the
views to include it and otherwise answers 503 `projection-behind` with
Retry-After, never stale data; a position past the end of the ledger is refused
(422 `position-ahead`). Lists page with `limit`/`offset` and say `total`.

Who may read what, under /api/v1 (the table is `domain.roles.READERS`; the bearer
token's roles decide; they are also passed to the query, which hides a group's
breakdown below its anonymity floor, and any signer's identity, from all but
inspectors and auditors):

  campaigns, campaigns/{id}              any logged-in actor
  campaigns/{id}/results                 any logged-in actor once approved (anonymity
                                         floor applies); a draft proposal only to
                                         admin, organizer, committee, inspector, auditor
  campaigns/{id}/results/{a}/explanation inspector, auditor, committee, organizer, admin;
                                         a cadre for their own appraisee, once approved
  campaigns/{id}/ballots                 inspector, auditor, organizer
  campaigns/{id}/reconciliation          any logged-in actor (counts only)
  campaigns/{id}/reports                 any logged-in actor (published for supervision)
  campaigns/{id}/disputes                admin, organizer, committee, inspector, auditor;
                                         a cadre those about their own appraisee
                                         (who lodged it: inspectors, auditors)
  rectifications                         admin, organizer, committee, inspector, auditor;
                                         a cadre their own appraisee's, per campaign
  actors, actors/{id}                    admin, auditor, inspector
  projection                             admin (operators)
  ballots/{id}                           anyone, no login: the receipt check; never an
                                         identity
  ledger/…                               anyone, no login: checkpoints, proofs, leaves
  ledger/entries                         inspector, auditor (states: named scores)

Evaluators and tellers cast ballots; they read no one's ballots, only their own
receipts, which need no login. Results are shown to every actor because they are
published for supervision (公示); what could identify a voter is what the
anonymity floor withholds.
"""

from collections.abc import Callable, Collection
from typing import Any, TypeVar
from uuid import UUID

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, post_load, validate

from api.auth import require_roles
from api.errors import PositionAhead
from api.runtime import current_read, current_runtime, current_system
from api.schemas import MAX_INDEX, QuerySchema
from domain.campaign import APPROVED, FINALIZED, PUBLICIZED, Campaign
from domain.errors import WrongRole
from domain.roles import READERS, for_anyone
from projections import queries

View = TypeVar("View", bound=Callable[..., Any])

MAX_LIMIT = 1000


class ReadQuerySchema(QuerySchema):
    """Read-your-writes; ids in filters are handed on as canonical text."""

    min_position = fields.Integer(
        validate=validate.Range(min=0, max=MAX_INDEX),
        metadata={
            "description": "Answer only once the views include this ledger index (a command's "
            "`position`); 503 `projection-behind` if they don't in time"
        },
    )

    @post_load
    def ids_as_text(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, UUID) else v for k, v in data.items()}


class WindowSchema(QuerySchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_LIMIT))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_INDEX))


class PageQuerySchema(WindowSchema, ReadQuerySchema):
    """A page of a list, once the views include `min_position`."""


def caller_roles() -> frozenset[str]:
    """The roles of the bearer a guarded view let in (none on public reads)."""
    principal = g.get("principal")
    return frozenset() if principal is None else principal.roles


# Campaign states in which the current results are approved, no longer a draft.
APPROVED_STATES = frozenset({APPROVED, PUBLICIZED, FINALIZED})


def require_approved_or_draft_reader(status: str) -> None:
    """Results before the committee approves them are a draft (`READERS["draft_results"]`)."""
    if status not in APPROVED_STATES and not caller_roles() & READERS["draft_results"]:
        raise WrongRole(
            "results not yet approved are a draft: readable by "
            + ", ".join(sorted(READERS["draft_results"]))
        )


def own_appraisee(read: str, campaign_id: UUID | str, appraisee_id: str | None) -> str | None:
    """The appraisee a read is limited to: `appraisee_id` as asked for a caller who may
    `read` for anyone; for the others (a cadre) their own appraisee on the campaign's
    roster, which is also the only one they may name. The roster links an appraisee to
    its actor on the write side; the views don't keep it."""
    if for_anyone(caller_roles(), read):
        return appraisee_id
    campaign = current_system().app.get(UUID(str(campaign_id)), Campaign)
    actor_id = g.principal.actor_id
    if appraisee_id is not None:
        campaign.require_own_appraisee(actor_id, appraisee_id, f"read these {read}")
        return appraisee_id
    own = [a for a, entry in campaign.appraisees.items() if entry.get("actor_id") == actor_id]
    if len(own) != 1:
        raise WrongRole(f"a cadre reads the {read} of their own appraisee: name appraisee_id")
    return own[0]


def read_options(query: dict[str, Any]) -> dict[str, Any]:
    """The query string as keyword arguments of a `projections.queries` function.

    A `min_position` the ledger has not reached is refused at once (422): every
    position a command returns is already in the ledger, so it names nothing."""
    position = query.get("min_position")
    if position is not None:
        size = current_system().ledger.size()
        if position >= size:
            raise PositionAhead(
                f"min_position {position} is past the end of the ledger ({size} entries)",
                ledger_size=size,
            )
    return {**query, "timeout": current_runtime().options.read_wait_seconds}


def campaign_options(campaign_id: UUID, query: dict[str, Any]) -> dict[str, Any]:
    """`read_options` for a list under a campaign: 404 for an unknown campaign (its
    lists would otherwise be merely empty), waiting for `min_position` once here."""
    options = read_options(query)
    queries.campaign(
        current_read(),
        str(campaign_id),
        min_position=options.get("min_position"),
        timeout=options["timeout"],
    )
    return {**options, "min_position": None}


def read(
    blp: Blueprint,
    response: type[Schema],
    *,
    roles: Collection[str] | None,
    query: type[Schema] = PageQuerySchema,
    by_id: bool = True,
) -> Callable[[View], View]:
    """Declare a read: its readers (None: public), query string, answer and refusals
    (404 only where the path names something, `by_id`)."""

    def decorator(view: View) -> View:
        documented = blp.alt_response(503, response="SERVICE_UNAVAILABLE")(view)
        if by_id:
            documented = blp.alt_response(404, response="NOT_FOUND")(documented)
        documented = blp.response(200, response)(documented)
        documented = blp.arguments(query, location="query")(documented)
        return documented if roles is None else require_roles(blp, *roles)(documented)

    return decorator
