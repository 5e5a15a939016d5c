"""Who may spend a ballot right: the one rule the cast handler and the offline auditor share."""

import uuid

import pytest

from domain.balloting import CREDENTIAL, NAMED, PAPER, BallotRight

EVALUATOR = str(uuid.uuid4())


def right(kind: str, holder: str) -> BallotRight:
    return BallotRight(
        id=uuid.uuid4(),
        campaign_id=str(uuid.uuid4()),
        meeting_id=str(uuid.uuid4()),
        group="g",
        kind=kind,
        holder=holder,
        public_key=None,
    )


def test_a_credential_right_is_spent_by_its_own_credential_only() -> None:
    credential = right(CREDENTIAL, "0" * 32)
    assert credential.spendable_by(CREDENTIAL, str(credential.id), frozenset())
    assert not credential.spendable_by(CREDENTIAL, str(uuid.uuid4()), frozenset())
    # An actor whose id happens to equal the right's id is still not the credential.
    assert not credential.spendable_by("actor", str(credential.id), frozenset({"teller"}))


def test_a_named_right_is_spent_by_the_named_evaluator_only() -> None:
    named = right(NAMED, EVALUATOR)
    assert named.spendable_by("actor", EVALUATOR, frozenset({"evaluator"}))
    assert not named.spendable_by("actor", str(uuid.uuid4()), frozenset({"evaluator", "teller"}))
    assert not named.spendable_by(CREDENTIAL, EVALUATOR, frozenset())


@pytest.mark.parametrize(
    ("holder", "roles", "allowed"),
    [
        ("actor", {"teller"}, True),
        ("actor", {"teller", "cadre"}, True),
        ("actor", {"organizer", "admin", "inspector"}, False),
        ("actor", set(), False),
        (CREDENTIAL, {"teller"}, False),
        ("actor", {"Teller"}, False),
        ("actor", {"teller\u200b"}, False),
    ],
)
def test_a_paper_right_is_spent_by_a_teller_only(
    holder: str, roles: set[str], allowed: bool
) -> None:
    paper = right(PAPER, "R-0001")
    assert paper.spendable_by(holder, str(uuid.uuid4()), frozenset(roles)) is allowed
