"""Privacy and separation of duties in the domain (issue 15), over HTTP on both stores:
credential keys stored in key-id order, not print order; an inspector's void within the
dispute's scope."""

from typing import Any
from uuid import UUID

from flask.testing import FlaskClient

from domain.balloting import CREDENTIAL
from tests.e2e.conftest import assert_problem
from tests.e2e.driver import Api, HttpCampaign, new_id
from tests.support import Harness, Signer


def refused(c: HttpCampaign, who: Signer, command_type: str, **fields: Any) -> dict[str, Any]:
    """A command refused as a rule violation (422) that writes nothing."""
    before = c.api.harness.size
    body = assert_problem(c.post(who, command_type, **fields), 422, "rule-violation")
    assert c.api.harness.size == before
    return body


def voted(api: Api) -> HttpCampaign:
    """Seed 000's campaign with every ballot cast, balloting closed and results proposed."""
    c = HttpCampaign(api)
    c.set_up()
    c.open()
    c.vote()
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    c.send(c.organizer, "results.propose")
    return c


def test_credential_rights_are_stored_in_key_id_order_not_print_order(
    client: FlaskClient, harness: Harness
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    # The slips' print order: descending key id, so print order and key-id order differ.
    c.residents.sort(key=lambda s: s.key_id, reverse=True)
    c.units.sort(key=lambda s: s.key_id, reverse=True)
    first = api.position + 1
    c.open()
    repository = harness.system.app.repository
    meeting = repository.get(UUID(c.meeting))
    rights = [repository.get(UUID(r)) for r in meeting.rights]
    for group, slips in (("resident_rep", c.residents), ("unit_rep", c.units)):
        stored = [r.holder for r in rights if r.kind == CREDENTIAL and r.group == group]
        assert stored == sorted(s.key_id for s in slips)
        assert stored != [s.key_id for s in slips]
    # The ledger's event order follows the same canonical order.
    ledger = harness.system.ledger
    issued = [
        entry["stream"]
        for entry in ledger.entries(first, ledger.size() - first)
        if entry["topic"].endswith("BallotRight.Issued")
    ]
    assert issued == meeting.rights


def test_an_inspector_voids_only_ballots_that_rate_the_disputed_appraisee(
    client: FlaskClient, harness: Harness
) -> None:
    api = Api(client, harness)
    c = voted(api)
    dispute = new_id()
    disputed = c.appraisees[3]
    c.send(c.cadres[3], "dispute.lodge", dispute_id=dispute, appraisee_id=disputed, grounds="代填")
    # Cadre 0's self-rating names cadre 0 only: outside a dispute about cadre 3.
    other = _self_ballot(c, 0)
    resident = next(b for b, g in c.groups.items() if g == "resident_rep")
    body = refused(
        c,
        c.inspector,
        "dispute.resolve",
        dispute_id=dispute,
        decision="upheld",
        reason="越权作废",
        void_ballots=[resident, other],
    )
    assert body["ballot_id"] == other and body["appraisee_id"] == disputed
    assert api.read(f"/api/v1/ballots/{other}")["status"] != "voided"
    # Within scope: the resident ballot rates every appraisee, the disputed one's own
    # self-rating rates them.
    resolved = c.send(
        c.inspector,
        "dispute.resolve",
        dispute_id=dispute,
        decision="upheld",
        reason="经核实该票为代填，予以作废",
        void_ballots=[resident, _self_ballot(c, 3)],
    )
    assert resolved["voided"] == [resident, _self_ballot(c, 3)]


def _self_ballot(c: HttpCampaign, n: int) -> str:
    """The self-rating ballot of cadre `n` (`HttpCampaign.vote` casts them in order)."""
    return [b for b, g in c.groups.items() if g == "self"][n]
