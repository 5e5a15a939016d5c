"""Deriving a campaign's outcome from its loaded aggregates: the one path the server's
proposal, `audit replay`, the offline verifier and the read side all take, so they
cannot disagree. Pure: the caller loads what `DerivationInputs` names."""

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from uuid import UUID

from domain import scoring
from domain.balloting import CastBallot
from domain.campaign import Campaign
from domain.canonical import canonical_json
from domain.history import GradeHistory, history_id


@dataclass(frozen=True)
class DerivationInputs:
    """What a campaign's derivation reads besides the campaign itself."""

    ballots: Mapping[UUID, CastBallot]  # every ballot cast in the campaign's meetings
    positions: Mapping[UUID, int]  # ballot id -> ledger index of its cast event
    appraised: Mapping[str, frozenset[str]]  # meeting id -> the appraisees it balloted on
    histories: Mapping[UUID, GradeHistory]  # the appraisees' grade histories, by history id


@dataclass(frozen=True)
class Derivation:
    outcome: scoring.Outcome
    proposal_hash: str
    ballots: Mapping[UUID, CastBallot]

    @cached_property
    def document(self) -> dict[str, Any]:
        """outcome.to_dict(), the proposal hash's input: built once, and only when asked
        (it holds every counted row as JSON values)."""
        return self.outcome.to_dict()


def proposal_hash(outcome: scoring.Outcome) -> str:
    """The SHA-256 of `canonical_json(outcome.to_dict())`, which a proposal records,
    written one result at a time so that the document is never whole in memory. The
    top-level keys in canonical order: quota_decisions, results, tally."""
    rest = outcome.to_dict(results=False)
    digest = hashlib.sha256(b'{"quota_decisions":')
    digest.update(canonical_json(rest["quota_decisions"]))
    digest.update(b',"results":[')
    for number, result in enumerate(outcome.result_dicts()):
        digest.update(b"," if number else b"")
        digest.update(canonical_json(result))
    digest.update(b'],"tally":')
    digest.update(canonical_json(rest["tally"]))
    digest.update(b"}")
    return digest.hexdigest()


def history_ids(campaign: Campaign) -> list[UUID]:
    """The grade histories a derivation of the campaign reads (cross-year rules)."""
    return [history_id(a["person_id"]) for a in campaign.appraisees.values()]


def derive(campaign: Campaign, inputs: DerivationInputs) -> Derivation:
    """Score the campaign: linear in its ballots. Each ballot is judged against its own
    meeting's appraisees, as it was when cast."""
    scoring_ballots = _ForScoring(inputs)
    people = {a["appraisee_id"]: a["person_id"] for a in campaign.appraisees.values()}
    previous = {
        appraisee_id: inputs.histories[history_id(person)].before(campaign.year)
        for appraisee_id, person in people.items()
        if history_id(person) in inputs.histories
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
    return Derivation(outcome, proposal_hash(outcome), inputs.ballots)


class _ForScoring(Mapping[str, scoring.Ballot]):
    """The campaign's ballots by id as scoring reads them, each made when it is read:
    scoring reads each once, so a campaign's ballots are never all in memory."""

    def __init__(self, inputs: DerivationInputs) -> None:
        self._inputs = inputs
        self._ids = {str(ballot_id): ballot_id for ballot_id in inputs.ballots}

    def __getitem__(self, ballot_id: str) -> scoring.Ballot:
        ballot = self._inputs.ballots[self._ids[ballot_id]]
        appraised = self._inputs.appraised[ballot.meeting_id]
        return ballot.for_scoring(appraised, self._inputs.positions.get(ballot.id))

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)
