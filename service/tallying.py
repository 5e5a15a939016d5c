"""Deriving a campaign's outcome from its events: the one path the server's proposal,
`audit replay` and the read side all take, so they cannot disagree."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from domain import scoring
from domain.balloting import CastBallot, Meeting
from domain.campaign import Campaign
from domain.canonical import canonical_json
from domain.history import history_id


class EventSource(Protocol):
    """Where aggregates come from: the live store, or an audit bundle replayed offline."""

    def load_many(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Any]: ...

    def positions_of(self, streams: Iterable[UUID]) -> dict[tuple[UUID, int], int]: ...


@dataclass(frozen=True)
class Derivation:
    outcome: scoring.Outcome
    proposal_hash: str
    ballots: dict[UUID, CastBallot]
    document: dict[str, Any]  # outcome.to_dict(), the proposal hash's input: built once


def proposal_hash(document: dict[str, Any]) -> str:
    """The hash of an outcome's `to_dict()`, which a proposal records."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def campaign_ballots(
    app: EventSource, campaign: Campaign
) -> tuple[dict[UUID, CastBallot], dict[str, Meeting]]:
    """Every ballot cast in the campaign's meetings, found through the spent rights, and
    the meetings by id."""
    meetings = app.load_many(UUID(m) for m in campaign.meetings)
    rights = app.load_many(UUID(r) for m in meetings.values() for r in m.rights)
    ballots = app.load_many(UUID(r.ballot_id) for r in rights.values() if r.ballot_id)
    return ballots, {str(m_id): m for m_id, m in meetings.items()}


def derive(app: EventSource, campaign: Campaign) -> Derivation:
    """Score the campaign: linear in its ballots, a few batched reads. Each ballot is
    judged against its own meeting's appraisees, as it was when cast."""
    ballots, meetings = campaign_ballots(app, campaign)
    positions = app.positions_of(ballots)
    appraised = {m_id: m.appraisees for m_id, m in meetings.items()}
    scoring_ballots = [
        b.for_scoring(appraised[b.meeting_id], positions.get((b.id, 1))) for b in ballots.values()
    ]
    people = {a["appraisee_id"]: a["person_id"] for a in campaign.appraisees.values()}
    histories = app.load_many(history_id(p) for p in people.values())
    previous = {
        appraisee_id: histories[history_id(person)].before(campaign.year)
        for appraisee_id, person in people.items()
        if history_id(person) in histories
    }
    outcome = scoring.score(
        scoring.ScoringInput(
            rules=campaign.rules,
            appraisees=[
                scoring.Appraisee(a["appraisee_id"], a["category"])
                for a in campaign.appraisees.values()
            ],
            ballots=scoring_ballots,
            assessments=campaign.assessments,
            previous_grades=previous,
        )
    )
    document = outcome.to_dict()
    return Derivation(outcome, proposal_hash(document), ballots, document)
