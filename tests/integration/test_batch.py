"""A teller's batch of paper ballots: each individually signed, checked, recorded and
proved; refused ones write nothing; accepted ones share one transaction."""

import base64

from domain import errors, merkle
from tests.support import Harness, Signer
from tests.support.scenario import CityCampaign, new_id


def paper_ballot(c: CityCampaign, meeting: str, serial: str) -> dict:
    return c.teller.envelope(
        "ballot.cast",
        campaign_id=c.id,
        meeting_id=meeting,
        ballot_id=new_id(),
        group="resident_rep",
        paper_serial=serial,
        rows=c.choices("competent", "competent", "excellent", "incompetent"),
    )


def test_teller_batch_records_each_ballot_on_its_own(harness: Harness) -> None:
    c = CityCampaign(harness)
    c.set_up()
    meeting = new_id()
    serials = [f"P-{n:04d}" for n in range(12)]
    c.send(
        c.organizer,
        "balloting.open",
        meeting_id=meeting,
        paper=[{"group": "resident_rep", "serials": serials}],
        credentials=[
            {
                "group": "unit_rep",
                "public_keys": [Signer().public_key for _ in range(3)],
            }
        ],
    )
    good = [paper_ballot(c, meeting, s) for s in serials[:5]]
    forged = paper_ballot(c, meeting, serials[5])
    forged["command"]["rows"][0]["choice"] = "excellent"
    unissued = paper_ballot(c, meeting, "P-9999")
    twice = paper_ballot(c, meeting, serials[0])
    before = harness.size
    answers = harness.system.bus.handle_batch([*good, forged, unissued, twice])

    accepted = answers[:5]
    assert all(not isinstance(a, errors.DomainError) for a in accepted)
    assert isinstance(answers[5], errors.BadSignature)
    assert isinstance(answers[6], errors.WrongRole)
    assert isinstance(answers[7], errors.Conflict)
    assert harness.size == before + 5 * 3  # right spent, ballot cast, command record
    ledger = harness.system.ledger
    size = ledger.size()
    root = ledger.root(size)
    indexes = set()
    for answer in accepted:
        receipt = answer.result["receipt"]
        indexes.add(receipt["ledger_index"])
        merkle.verify_inclusion(
            base64.b64decode(receipt["leaf_hash"]),
            receipt["ledger_index"],
            size,
            ledger.inclusion_proof(receipt["ledger_index"], size),
            root,
        )
    assert len(indexes) == 5
    again = harness.system.bus.handle_batch(good[:2])
    assert [a.replayed for a in again] == [True, True]
    assert [a.to_json() for a in again] == [a.to_json() for a in accepted[:2]]
    assert harness.size == before + 15
