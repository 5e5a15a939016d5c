"""Actors read: admins, auditors and inspectors see roles and keys, revoked ones flagged."""

from flask.testing import FlaskClient

from domain.registry import ADMIN_ACTOR_ID
from tests.e2e.conftest import assert_problem
from tests.support import Harness, Signer
from tests.support.http import bearer, login


def test_actor_shows_roles_and_revoked_keys(harness: Harness, client: FlaskClient) -> None:
    token = login(client, harness.admin)["token"]
    person = harness.register("cadre", name="Wang")
    newer = Signer()
    harness.submit(
        person.envelope(
            "actor.rotate_key",
            actor_id=person.actor_id,
            public_key=newer.public_key,
            old_key_id=person.key_id,
        )
    )
    actor = client.get(f"/api/v1/actors/{person.actor_id}", headers=bearer(token)).get_json()
    assert actor["name"] == "Wang"
    assert actor["roles"] == ["cadre"]
    assert {k["key_id"]: k["revoked"] for k in actor["keys"]} == {
        person.key_id: True,
        newer.key_id: False,
    }


def test_actors_are_listed_a_page_at_a_time(harness: Harness, client: FlaskClient) -> None:
    token = login(client, harness.admin)["token"]
    registered = [harness.register("evaluator").actor_id for _ in range(4)]
    written = harness.size - 1
    seen: list[str] = []
    offset = 0
    while True:
        page = client.get(
            f"/api/v1/actors?limit=2&offset={offset}&min_position={written}",
            headers=bearer(token),
        ).get_json()
        seen.extend(actor["actor_id"] for actor in page["items"])
        offset += 2
        if offset >= page["total"]:
            break
    assert seen == [str(ADMIN_ACTOR_ID), *registered]
    evaluators = client.get("/api/v1/actors?role=evaluator", headers=bearer(token)).get_json()
    assert [actor["actor_id"] for actor in evaluators["items"]] == registered


def test_an_unknown_actor_is_404(harness: Harness, client: FlaskClient) -> None:
    token = login(client, harness.admin)["token"]
    missing = Signer().actor_id
    assert_problem(client.get(f"/api/v1/actors/{missing}", headers=bearer(token)), 404, "not-found")
    assert_problem(client.get("/api/v1/actors/not-a-uuid", headers=bearer(token)), 404, "not-found")
