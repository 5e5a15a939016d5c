"""A credential ballot signs its meeting's opening as `issued_at` (issue 15, PRIVACY.md):
over HTTP on both stores, any other time is refused with nothing written, the same
instant in another RFC 3339 form is accepted, the replay window does not apply to it,
and named signers keep the window."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from flask.testing import FlaskClient

from domain.envelope import format_timestamp, parse_timestamp, seal
from tests.e2e.conftest import assert_problem
from tests.support import Harness, RawStore, Signer
from tests.support.http import Api, HttpCampaign
from tests.support.scenario import new_id

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")


@pytest.fixture
def campaign(client: FlaskClient, harness: Harness) -> HttpCampaign:
    c = HttpCampaign(Api(client, harness))
    c.set_up()
    c.open()
    return c


def resident_ballot(c: HttpCampaign, who: Signer, issued_at: str) -> dict[str, Any]:
    """A resident's ballot with `issued_at` exactly as given, signed over that string."""
    command = {
        "type": "ballot.cast",
        "id": new_id(),
        "issued_at": issued_at,
        "campaign_id": c.id,
        "meeting_id": c.meeting,
        "ballot_id": new_id(),
        "group": "resident_rep",
        "rows": c.choices("competent", "excellent", "competent", "incompetent"),
    }
    return seal(command, who.key)


def opening(c: HttpCampaign) -> datetime:
    return parse_timestamp(c.api.opened_at(c.meeting, "resident_rep"))


@pytest.mark.parametrize(
    "shift",
    [timedelta(seconds=-1), timedelta(seconds=1), timedelta(milliseconds=500), None],
    ids=["a second early", "a second late", "half a second late", "the voter's clock"],
)
def test_a_credential_ballot_signed_at_another_time_is_refused_and_nothing_written(
    campaign: HttpCampaign, shift: timedelta | None
) -> None:
    c = campaign
    opened = opening(c)
    moment = datetime.now(UTC) + timedelta(seconds=3) if shift is None else opened + shift
    before = c.api.harness.size
    body = assert_problem(
        c.api.submit(resident_ballot(c, c.residents[0], moment.isoformat())),
        422,
        "stale-command",
    )
    assert body["expected"] == format_timestamp(opened)
    assert c.api.harness.size == before
    # The right was not spent: the same slip then votes at the opening.
    assert c.api.accept(resident_ballot(c, c.residents[0], format_timestamp(opened)))["valid"]


def test_the_opening_in_another_rfc3339_form_is_the_same_instant(campaign: HttpCampaign) -> None:
    c = campaign
    opened = opening(c)
    for n, text in enumerate(
        [opened.isoformat(), opened.strftime("%Y-%m-%dT%H:%M:%S.000000Z")], start=1
    ):
        answer = c.api.accept(resident_ballot(c, c.residents[n], text))
        assert answer["valid"] and answer["receipt"]


def test_a_credential_ballot_is_accepted_long_after_its_meeting_opened(
    campaign: HttpCampaign, harness: Harness
) -> None:
    """The replay window guards named commands; a credential's guard is its one-time
    right, so a slip used an hour into the meeting still counts, and only once."""
    c = campaign
    later = datetime.now(UTC) + timedelta(hours=1)
    harness.system.bus.clock = lambda: later
    signed = resident_ballot(c, c.residents[0], format_timestamp(opening(c)))
    assert c.api.accept(signed)["valid"]
    again = resident_ballot(c, c.residents[0], format_timestamp(opening(c)))
    assert_problem(c.api.submit(again), 409, "wrong-state")
    # A named evaluator signing the server's old time is outside the window.
    leader = c.leaders[0].envelope(
        "ballot.cast",
        issued_at=later - timedelta(hours=1),
        campaign_id=c.id,
        meeting_id=c.meeting,
        ballot_id=new_id(),
        group="city_leaders",
        rows=c.choices("excellent", "competent", "competent", "incompetent"),
    )
    before = harness.size
    assert_problem(c.api.submit(leader), 422, "stale-command")
    assert harness.size == before


def test_no_time_in_a_credential_ballots_rows_is_finer_than_its_meeting(
    campaign: HttpCampaign, harness: Harness
) -> None:
    """Every timestamp in the stored rows of a credential ballot (its Cast with the
    signed envelope, its right's Spent, its command record) is the meeting's opening."""
    c = campaign
    c.vote()
    credential = [b for b, g in c.groups.items() if g in ("resident_rep", "unit_rep")][:-1]
    repository = harness.system.app.repository
    ids = {b for b in credential} | {c.casts[b]["command_id"] for b in credential}
    ids |= {repository.get(UUID(b)).right for b in credential}
    opened = repository.get(UUID(c.meeting)).created_on
    raw = RawStore(harness.system.settings)
    try:
        rows = raw.execute("SELECT originator_id, state FROM {events}")
    finally:
        raw.close()
    stamps = [
        parse_timestamp(text)
        for stream, state in rows
        if str(UUID(str(stream))) in ids
        for text in TIMESTAMP.findall(bytes(state).decode())
    ]
    assert len(stamps) >= len(ids) + len(credential)  # each state's time, each issued_at
    assert {stamp.replace(microsecond=0) for stamp in stamps} == {opened.replace(microsecond=0)}
    assert all(stamp <= opened for stamp in stamps)
