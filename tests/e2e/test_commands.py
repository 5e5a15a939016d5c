"""POST /api/v1/commands: accepted, replayed, and refused with the right problem type."""

from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.persistence import OperationalError
from flask.testing import FlaskClient

from domain.errors import WrongState
from tests.e2e.conftest import assert_problem, refused
from tests.support import Harness, Signer
from tests.support.http import post_json, submit


def register(harness: Harness, person: Signer, *roles: str, **overrides: object) -> dict:
    fields = {
        "actor_id": person.actor_id,
        "name": "Someone",
        "roles": list(roles) or ["cadre"],
        "public_key": person.public_key,
        **overrides,
    }
    return harness.admin.envelope("actor.register", **fields)


def test_accepted_command_reports_its_ledger_position(
    harness: Harness, client: FlaskClient
) -> None:
    person = Signer()
    response = submit(client, register(harness, person))
    assert response.status_code == 201
    body = response.get_json()
    assert body["type"] == "actor.register"
    assert body["position"] == harness.size - 1
    assert body["actor_id"] == person.actor_id
    assert body["key_id"] == person.key_id


def test_replay_returns_the_same_body_and_writes_nothing(
    harness: Harness, client: FlaskClient
) -> None:
    envelope = register(harness, Signer())
    first = submit(client, envelope)
    size = harness.size
    again = submit(client, envelope)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert harness.size == size


def test_bad_signature_is_401(harness: Harness, client: FlaskClient) -> None:
    envelope = register(harness, Signer())
    envelope["command"]["roles"] = ["admin"]
    response = submit(client, envelope)
    assert response.headers["WWW-Authenticate"].startswith("Signature")
    refused(harness, client, envelope, 401, "bad-signature")


def test_unknown_key_is_401(harness: Harness, client: FlaskClient) -> None:
    stranger = Signer()
    envelope = stranger.envelope(
        "actor.register",
        actor_id=stranger.actor_id,
        name="Self-made",
        roles=["admin"],
        public_key=stranger.public_key,
    )
    refused(harness, client, envelope, 401, "unknown-key")


def test_revoked_key_is_401(harness: Harness, client: FlaskClient) -> None:
    person = harness.register("organizer")
    harness.submit(
        harness.admin.envelope("actor.revoke_key", actor_id=person.actor_id, key_id=person.key_id)
    )
    newcomer = Signer()
    envelope = person.envelope(
        "actor.rotate_key",
        actor_id=person.actor_id,
        public_key=newcomer.public_key,
        old_key_id=person.key_id,
    )
    refused(harness, client, envelope, 401, "revoked-key")


def test_wrong_role_is_403(harness: Harness, client: FlaskClient) -> None:
    cadre = harness.register("cadre")
    other = Signer()
    envelope = cadre.envelope(
        "actor.register",
        actor_id=other.actor_id,
        name="X",
        roles=["cadre"],
        public_key=other.public_key,
    )
    body = refused(harness, client, envelope, 403, "wrong-role")
    assert body["command_type"] == "actor.register"


@pytest.mark.parametrize("skew", [timedelta(minutes=-11), timedelta(minutes=11)])
def test_stale_command_is_422(harness: Harness, client: FlaskClient, skew: timedelta) -> None:
    envelope = harness.admin.envelope(
        "actor.register",
        issued_at=datetime.now(UTC) + skew,
        actor_id=Signer().actor_id,
        name="Late",
        roles=["cadre"],
        public_key=Signer().public_key,
    )
    refused(harness, client, envelope, 422, "stale-command")


def test_same_id_with_another_envelope_is_409(harness: Harness, client: FlaskClient) -> None:
    first = register(harness, Signer())
    assert submit(client, first).status_code == 201
    second = register(harness, Signer(), command_id=first["command"]["id"])
    refused(harness, client, second, 409, "duplicate-command")


def test_registering_an_existing_actor_is_409(harness: Harness, client: FlaskClient) -> None:
    person = Signer()
    assert submit(client, register(harness, person)).status_code == 201
    again = register(harness, Signer(), actor_id=person.actor_id)
    refused(harness, client, again, 409, "conflict")


def test_command_on_a_missing_actor_is_404(harness: Harness, client: FlaskClient) -> None:
    envelope = harness.admin.envelope(
        "actor.add_key", actor_id=Signer().actor_id, public_key=Signer().public_key
    )
    refused(harness, client, envelope, 404, "not-found")


def test_unknown_command_field_is_422(harness: Harness, client: FlaskClient) -> None:
    envelope = register(harness, Signer(), nickname="x")
    body = refused(harness, client, envelope, 422, "malformed-command")
    assert body["fields"] == ["nickname"]


def test_float_in_command_is_422(harness: Harness, client: FlaskClient) -> None:
    envelope = register(harness, Signer())
    envelope["command"]["weight"] = 0.5
    body = refused(harness, client, envelope, 422, "float-not-allowed")
    assert body["path"] == "/command/weight"


def test_envelope_shape_is_validated_with_field_errors(
    harness: Harness, client: FlaskClient
) -> None:
    envelope = register(harness, Signer())
    del envelope["signer"]
    body = refused(harness, client, envelope, 422, "validation-failed")
    assert "signer" in body["errors"]["json"]


def test_unknown_command_type_is_422(harness: Harness, client: FlaskClient) -> None:
    envelope = harness.admin.envelope("actor.befriend", actor_id=Signer().actor_id)
    refused(harness, client, envelope, 422, "malformed-command")


def test_malformed_json_is_400(harness: Harness, client: FlaskClient) -> None:
    before = harness.size
    response = client.post(
        "/api/v1/commands", data=b'{"command": {', content_type="application/json"
    )
    assert_problem(response, 400, "invalid-json")
    assert harness.size == before


@pytest.mark.parametrize("body", [b"", b"\xff\xfe{", b'{"a": NaN}', b"[Infinity]"])
def test_empty_undecodable_or_non_json_is_400(
    harness: Harness, client: FlaskClient, body: bytes
) -> None:
    response = client.post("/api/v1/commands", data=body, content_type="application/json")
    assert_problem(response, 400, "invalid-json")


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b"[" * 65 + b"]" * 65])
def test_json_nested_too_deep_to_parse_is_422(
    harness: Harness, client: FlaskClient, body: bytes
) -> None:
    response = client.post("/api/v1/commands", data=body, content_type="application/json")
    assert_problem(response, 422, "nesting-too-deep")


def test_nesting_beyond_the_limit_is_422(harness: Harness, client: FlaskClient) -> None:
    deep: object = "leaf"
    for _ in range(70):
        deep = {"x": deep}
    envelope = register(harness, Signer())
    envelope["command"]["deep"] = deep
    refused(harness, client, envelope, 422, "nesting-too-deep")


def test_other_media_type_is_415(harness: Harness, client: FlaskClient) -> None:
    before = harness.size
    envelope = register(harness, Signer())
    response = client.post("/api/v1/commands", data=str(envelope), content_type="text/plain")
    assert_problem(response, 415, "unsupported-media-type")
    assert harness.size == before


def test_body_over_the_limit_is_413(harness: Harness, client: FlaskClient) -> None:
    before = harness.size
    envelope = register(harness, Signer())
    envelope["command"]["name"] = "x" * (1024 * 1024)
    response = post_json(client, "/api/v1/commands", envelope)
    assert_problem(response, 413, "payload-too-large")
    assert harness.size == before


def test_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    response = client.get("/api/v1/commands")
    assert_problem(response, 405, "method-not-allowed")
    assert "POST" in response.headers["Allow"]


def test_unknown_route_is_404(client: FlaskClient) -> None:
    body = assert_problem(client.get("/api/v1/nowhere"), 404, "not-found")
    assert body["instance"] == "/api/v1/nowhere"


def test_unexpected_failure_is_a_500_problem_without_internals(
    harness: Harness, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(_document: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(harness.system.bus, "handle", explode)
    response = submit(client, register(harness, Signer()))
    body = assert_problem(response, 500, "internal-error")
    assert "secret" not in response.get_data(as_text=True)
    assert body["instance"] == "/api/v1/commands"


def test_an_unreachable_store_is_a_503_problem(
    harness: Harness, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(_document: object) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(harness.system.bus, "handle", unreachable)
    response = submit(client, register(harness, Signer()))
    assert_problem(response, 503, "store-unavailable")
    assert response.headers["Retry-After"]


def test_a_refusals_extras_never_replace_the_problems_own_members(
    harness: Harness, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal detail named like a problem member (`status` once made it a 500)."""
    clashing = {k: "draft" for k in ("type", "title", "status", "detail", "instance")}

    def refuse(_document: object) -> None:
        raise WrongState("cannot publish while the campaign is draft", **clashing, allowed=[])

    monkeypatch.setattr(harness.system.bus, "handle", refuse)
    body = assert_problem(submit(client, register(harness, Signer())), 409, "wrong-state")
    assert (body["detail"], body["instance"], body["allowed"]) == (
        "cannot publish while the campaign is draft",
        "/api/v1/commands",
        [],
    )
