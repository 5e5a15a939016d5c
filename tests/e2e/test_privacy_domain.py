"""Privacy and separation of duties in the domain (issue 15), over HTTP on both stores:
credential keys stored in key-id order, not print order."""

from uuid import UUID

from flask.testing import FlaskClient

from domain.balloting import CREDENTIAL
from tests.e2e.driver import Api, HttpCampaign
from tests.support import Harness


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
