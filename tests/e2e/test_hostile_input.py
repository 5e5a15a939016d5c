"""Hostile input during a live campaign over HTTP: every attempt is a 4xx problem and
writes nothing (the envelope-level checks on any command are in test_commands)."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from tests.e2e.conftest import assert_problem, refused
from tests.support import Harness, Signer
from tests.support.http import Api, HttpCampaign, bearer, submit


@pytest.fixture
def campaign(harness: Harness, client: FlaskClient) -> HttpCampaign:
    """Set up and published, balloting open."""
    c = HttpCampaign(Api(client, harness))
    c.set_up()
    c.open()
    return c


def competent(c: HttpCampaign) -> list[dict[str, str]]:
    return c.choices(*["competent"] * len(c.appraisees))


def test_a_cadre_cannot_approve_results(
    harness: Harness, client: FlaskClient, campaign: HttpCampaign
) -> None:
    envelope = campaign.cadres[0].envelope(
        "results.approve", campaign_id=campaign.id, proposal_hash="0" * 64, adjustments=[]
    )
    body = refused(harness, client, envelope, 403, "wrong-role")
    assert body["command_type"] == "results.approve"


@pytest.mark.parametrize(
    "reader",
    [lambda c: c.leaders[0], lambda c: c.teller, lambda c: c.cadres[0]],
    ids=["evaluator", "teller", "cadre"],
)
def test_only_overseers_read_the_ballots_list(
    harness: Harness, campaign: HttpCampaign, reader: Callable[[HttpCampaign], Signer]
) -> None:
    c = campaign
    before = harness.size
    assert_problem(c.api.get(f"{c.path}/ballots", reader(c)), 403, "wrong-role")
    assert c.api.read(f"{c.path}/ballots", c.inspector)["total"] == 0
    assert harness.size == before


def test_a_ballot_from_an_unissued_credential_is_401(
    harness: Harness, client: FlaskClient, campaign: HttpCampaign
) -> None:
    envelope = campaign.ballot(Signer(), "resident_rep", competent(campaign))
    refused(harness, client, envelope, 401, "unknown-key")


def test_a_spent_credential_is_409(
    harness: Harness, client: FlaskClient, campaign: HttpCampaign
) -> None:
    resident = campaign.residents[0]
    campaign.cast(resident, "resident_rep", competent(campaign))
    again = campaign.ballot(resident, "resident_rep", competent(campaign))
    refused(harness, client, again, 409, "wrong-state")


def test_a_replayed_ballot_returns_its_receipt_and_writes_nothing(
    harness: Harness, client: FlaskClient, campaign: HttpCampaign
) -> None:
    envelope = campaign.ballot(campaign.residents[1], "resident_rep", competent(campaign))
    first = submit(client, envelope)
    assert first.status_code == 201
    size = harness.size
    again = submit(client, envelope)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert again.get_json()["receipt"]["ledger_index"] < size
    assert harness.size == size


def test_a_stale_ballot_is_422(
    harness: Harness, client: FlaskClient, campaign: HttpCampaign
) -> None:
    late = datetime.now(UTC) - timedelta(minutes=11)
    envelope = campaign.ballot(
        campaign.residents[2], "resident_rep", competent(campaign), issued_at=late
    )
    refused(harness, client, envelope, 422, "stale-command")


def test_a_tampered_ballot_is_401(
    harness: Harness, client: FlaskClient, campaign: HttpCampaign
) -> None:
    envelope = campaign.ballot(campaign.residents[3], "resident_rep", competent(campaign))
    envelope["command"]["rows"][0]["choice"] = "excellent"
    refused(harness, client, envelope, 401, "bad-signature")


def test_paper_ballots_come_from_tellers_only(
    harness: Harness, client: FlaskClient, campaign: HttpCampaign
) -> None:
    c = campaign
    forged = c.ballot(c.organizer, "resident_rep", competent(c), paper_serial=c.paper_serial)
    refused(harness, client, forged, 403, "wrong-role")
    unknown = c.ballot(c.teller, "resident_rep", competent(c), paper_serial="R-9999")
    refused(harness, client, unknown, 403, "wrong-role")


def test_a_named_evaluator_votes_only_in_their_group(
    harness: Harness, client: FlaskClient, campaign: HttpCampaign
) -> None:
    envelope = campaign.ballot(campaign.leaders[0], "city_leaders", competent(campaign))
    refused(harness, client, envelope, 403, "wrong-role")


def test_a_ballot_id_is_used_once(
    harness: Harness, client: FlaskClient, campaign: HttpCampaign
) -> None:
    c = campaign
    cast = c.cast(c.units[0], "unit_rep", competent(c))
    reused = c.ballot(c.units[1], "unit_rep", competent(c), ballot_id=cast["ballot_id"])
    refused(harness, client, reused, 409, "conflict")


def test_a_ballot_of_the_wrong_form_is_refused_at_the_door(
    harness: Harness, client: FlaskClient, campaign: HttpCampaign
) -> None:
    envelope = campaign.ballot(campaign.leaders[0], "leading_group", competent(campaign))
    refused(harness, client, envelope, 422, "rule-violation")


def test_reads_refuse_missing_forged_and_junk_input(
    harness: Harness, client: FlaskClient, campaign: HttpCampaign
) -> None:
    c = campaign
    before = harness.size
    assert_problem(client.get(f"{c.path}/results"), 401, "unauthorized")
    forged = bearer("v1.e30.AAAA")
    assert_problem(client.get(f"{c.path}/results", headers=forged), 401, "invalid-token")
    for query in ("limit=0", "limit=x", "offset=-1", "min_position=-1", "status=lost"):
        response = c.api.get(f"{c.path}/ballots?{query}", c.inspector)
        assert_problem(response, 422, "validation-failed")
    assert harness.size == before


@pytest.mark.parametrize("junk", [{}, [], True, 7, None, "not-a-uuid"], ids=repr)
@pytest.mark.parametrize("name", ["meeting_id", "ballot_id", "group", "paper_serial"])
def test_a_ballot_field_of_the_wrong_type_is_a_4xx(
    harness: Harness, client: FlaskClient, campaign: HttpCampaign, name: str, junk: object
) -> None:
    """The bus reads ahead from these fields before checking them; junk there must reach
    the handler's refusal, not crash the read-ahead."""
    c = campaign
    fields = {
        "campaign_id": c.id,
        "meeting_id": c.meeting,
        "ballot_id": str(uuid.uuid4()),
        "group": "resident_rep",
        "paper_serial": c.paper_serial,
        "rows": competent(c),
    }
    envelope = c.teller.envelope("ballot.cast", **{**fields, name: junk})
    before = harness.size
    response = submit(client, envelope)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert harness.size == before
