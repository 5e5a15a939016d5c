"""Separation of duties (issue 15): within one campaign an actor holds at most one duty.

The organiser (who signed `campaign.create`), the named committee members, the inspectors
who act on it, the tellers who type in its paper ballots and the appraisees linked to an
actor are different people, so nobody can both run a campaign and approve, supervise,
count or be graded in it. Roles (`domain.roles`) say what an actor may sign anywhere;
duties say which of those an actor takes up in one campaign. The campaign and its
meetings keep who holds which duty; this module holds the one rule they all apply.
"""

from collections.abc import Mapping

from domain.errors import RuleViolation

ORGANISER = "organiser"
COMMITTEE_MEMBER = "committee member"
INSPECTOR = "inspector"
TELLER = "teller"
APPRAISEE = "appraisee"


def require_free(duties: Mapping[str, frozenset[str]], actor_id: str, duty: str) -> None:
    """Refuse `actor_id` taking up `duty` when `duties` (actor id -> the duties they hold
    in the campaign) shows them holding another one."""
    others = sorted(duties.get(actor_id, frozenset()) - {duty})
    if others:
        raise RuleViolation(
            f"actor {actor_id} is this campaign's {others[0]}: one actor cannot also be "
            f"its {duty} (separation of duties)",
            actor_id=actor_id,
            duty=duty,
            holds=others,
        )
