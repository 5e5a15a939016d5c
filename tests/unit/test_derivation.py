"""The derivation is pure: it scores aggregates handed to it, with no store behind them."""

import json
import uuid
from pathlib import Path

from domain.balloting import CastBallot
from domain.campaign import Campaign
from domain.derivation import DerivationInputs, derive, history_ids
from domain.history import history_id

RULES = json.loads((Path(__file__).parents[2] / "service/rulesets/seed002_dazehu.json").read_text())
ENVELOPE = {"command": {}, "signer": "0" * 32, "signature": ""}
APPRAISEE = "a-1"
APPRAISED = {"m": frozenset({APPRAISEE})}  # the one meeting's appraisees


def campaign() -> Campaign:
    made = Campaign(
        id=uuid.uuid4(),
        title="t",
        year=2022,
        rules=RULES,
        details={},
        organizer_id="organiser-1",
        envelope=ENVELOPE,
    )
    made.add_appraisees(
        [
            {
                "appraisee_id": APPRAISEE,
                "person_id": "p-1",
                "name": "萧平",
                "position": "书记",
                "unit": "东马社区",
                "category": "secretary",
            }
        ],
        ENVELOPE,
    )
    return made


def leader_ballot(choice: str) -> CastBallot:
    rows = [{"appraisee_id": APPRAISEE, "choice": choice}]
    return CastBallot(
        id=uuid.uuid4(),
        campaign_id="c",
        meeting_id="m",
        group="street_leaders",
        rows=rows,
        right=str(uuid.uuid4()),
        valid=True,
        reason=None,
        envelope={"command": {"rows": rows}, "signer": uuid.uuid4().hex, "signature": ""},
    )


def test_positions_reach_the_rows_and_a_voided_ballot_is_left_out() -> None:
    counted, voided = leader_ballot("excellent"), leader_ballot("incompetent")
    voided.void("重复投票", "d-1", {})
    inputs = DerivationInputs(
        ballots={counted.id: counted, voided.id: voided},
        positions={counted.id: 17, voided.id: 18},
        appraised=APPRAISED,
        histories={},
    )
    group = derive(campaign(), inputs).outcome.result(APPRAISEE).groups["street_leaders"]
    assert [(r.ballot_id, r.position) for r in group.rows_used] == [(str(counted.id), 17)]
    assert str(voided.id) not in [r.ballot_id for r in group.rows_used]


def test_the_same_inputs_give_the_same_proposal_hash_and_other_ballots_another() -> None:
    ballot = leader_ballot("excellent")
    inputs = DerivationInputs(
        ballots={ballot.id: ballot}, positions={ballot.id: 3}, appraised=APPRAISED, histories={}
    )
    first, again = derive(campaign(), inputs), derive(campaign(), inputs)
    assert first.proposal_hash == again.proposal_hash
    other = leader_ballot("basic")
    changed = DerivationInputs(
        ballots={other.id: other}, positions={other.id: 3}, appraised=APPRAISED, histories={}
    )
    assert derive(campaign(), changed).proposal_hash != first.proposal_hash


def test_the_derivation_names_the_grade_histories_it_reads() -> None:
    assert history_ids(campaign()) == [history_id("p-1")]
