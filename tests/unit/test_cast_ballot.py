"""A stored ballot as scoring reads it: one conversion for the close's tally and the derivation."""

import uuid

from domain.balloting import CastBallot
from domain.ballots import Row

SIGNER = "ab" * 16


def cast(rows: list[dict]) -> CastBallot:
    return CastBallot(
        id=uuid.uuid4(),
        campaign_id=str(uuid.uuid4()),
        meeting_id=str(uuid.uuid4()),
        group="resident_rep",
        rows=rows,
        right=str(uuid.uuid4()),
        valid=True,
        reason=None,
        envelope={"command": {"rows": rows}, "signer": SIGNER, "signature": ""},
    )


def test_the_scoring_ballot_keeps_rows_signer_and_position() -> None:
    stored = cast(
        [{"appraisee_id": "a", "choice": "excellent"}, {"appraisee_id": "b", "abstain": True}]
    )
    ballot = stored.for_scoring(frozenset({"a", "b"}), 41)
    assert (ballot.ballot_id, ballot.group, ballot.signer, ballot.position) == (
        str(stored.id),
        "resident_rep",
        SIGNER,
        41,
    )
    assert ballot.rows == (Row("a", choice="excellent"), Row("b", abstain=True))
    assert ballot.voided is None
    assert ballot.appraisees == {"a", "b"}


def test_a_voided_ballot_stays_voided_for_scoring() -> None:
    stored = cast([{"appraisee_id": "a", "choice": "excellent"}])
    stored.void("重复投票", str(uuid.uuid4()), {})
    assert stored.for_scoring(frozenset({"a"})).voided == "重复投票"
