"""A teller's signed void of their own paper entry, over HTTP on both stores: only the
teller who entered it, only while the meeting is open, with a bounded reason, once; the
serial may then be entered exactly once more. The voided entry stays in the ledger,
reconciled as voided by its teller, and the offline audit verifies it all."""

import json
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from tests.e2e.conftest import assert_problem
from tests.integration.test_audit import export, verify
from tests.support import Harness, Signer
from tests.support.http import Api, HttpCampaign


def refuse(c: HttpCampaign, who: Signer, status: int, code: str, **fields: Any) -> dict:
    before = c.api.harness.size
    body = assert_problem(
        c.post(who, "ballot.void_entry", meeting_id=c.meeting, **fields), status, code
    )
    assert c.api.harness.size == before
    return body


def test_a_teller_voids_their_own_entry_once_before_the_close(
    harness: Harness, client: FlaskClient, tmp_path: Path
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    c.open()
    other_teller = api.register("teller", name="另一计票员")
    # The typing mistake: the Chinese label instead of the code spends the serial invalid.
    typo = c.cast(
        c.teller, "resident_rep", c.choices("优秀", *["competent"] * 3), paper_serial=c.paper_serial
    )
    assert (typo["valid"], typo["reason"]) == (False, "unknown_choice:优秀")
    entry = typo["ballot_id"]
    named = c.cast(
        c.leaders[0],
        "leading_group",
        [
            {
                "appraisee_id": a,
                "scores": dict.fromkeys(
                    ("morality", "ability", "diligence", "performance", "integrity"), 80
                ),
            }
            for a in c.appraisees
        ],
    )["ballot_id"]
    reason = "录入错误：误将“优秀”作为代码录入"

    # Nobody else: no other role, no other teller, and no named ballot.
    for who in (c.organizer, c.inspector, c.leaders[0]):
        refuse(c, who, 403, "wrong-role", ballot_id=entry, reason=reason)
    refuse(c, other_teller, 403, "wrong-role", ballot_id=entry, reason=reason)
    refuse(c, c.teller, 403, "wrong-role", ballot_id=named, reason=reason)
    # A reason is required, and bounded; the ballot must be in this meeting.
    refuse(c, c.teller, 422, "malformed-command", ballot_id=entry, reason=" ")
    refuse(c, c.teller, 422, "malformed-command", ballot_id=entry, reason="错" * 501)
    refuse(c, c.teller, 422, "malformed-command", ballot_id=entry)
    refuse(c, c.teller, 404, "not-found", ballot_id=c.api.harness.admin.actor_id, reason=reason)

    voided = c.send(
        c.teller, "ballot.void_entry", meeting_id=c.meeting, ballot_id=entry, reason=reason
    )
    assert (voided["ballot_id"], voided["right_state"]) == (entry, "issued")
    refuse(c, c.teller, 409, "wrong-state", ballot_id=entry, reason=reason)  # not twice
    receipt = api.read(f"/api/v1/ballots/{entry}")
    assert (receipt["status"], receipt["reason"]) == ("voided", reason)
    assert receipt["voided"]["dispute_id"] is None

    # Entered once more, correctly; a second correction and a third entry are refused.
    again = c.cast(
        c.teller,
        "resident_rep",
        c.choices("excellent", *["competent"] * 3),
        paper_serial=c.paper_serial,
    )
    assert again["valid"]
    refuse(c, c.teller, 409, "wrong-state", ballot_id=again["ballot_id"], reason=reason)
    third = c.post(
        c.teller,
        "ballot.cast",
        meeting_id=c.meeting,
        ballot_id=entry,
        group="resident_rep",
        rows=c.choices(*["competent"] * 4),
        paper_serial=c.paper_serial,
    )
    assert third.status_code == 409

    closed = c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    row = closed["reconciliation"]["resident_rep"]
    assert (row["entries_voided"], row["cast"], row["valid"], row["invalid"]) == (1, 1, 1, 0)
    assert row["handed_out"] == row["cast"] + row["unused"]
    shown = api.read(f"{c.path}/reconciliation", c.organizer)
    [meeting] = shown["meetings"] if "meetings" in shown else shown["items"]
    assert meeting["groups"]["resident_rep"]["entries_voided"] == 1
    # Not after the close.
    refuse(c, c.teller, 409, "wrong-state", ballot_id=again["ballot_id"], reason=reason)

    path = tmp_path / "bundle.jsonl"
    export(harness, path)
    code, report = verify(harness, path)
    assert code == 0, json.dumps(report, ensure_ascii=False)
