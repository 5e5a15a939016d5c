"""Sessions (DESIGN §3): challenge → signature → bearer token → role-checked reads."""

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.config import EXAMPLE_SESSION_SECRET, ApiOptions
from domain import keys
from domain.canonical import b64url_decode, b64url_encode
from domain.envelope import SESSION_PREFIX
from entrypoints.cli import main
from service.settings import SettingsError
from tests.e2e.conftest import assert_problem, runtime
from tests.support import Harness, Signer
from tests.support.http import bearer, login, post_json


def signed(signer: Signer, challenge: str) -> dict[str, str]:
    return {
        "key_id": signer.key_id,
        "challenge": challenge,
        "signature": keys.sign(signer.key, SESSION_PREFIX + challenge.encode()),
    }


def challenge(client: FlaskClient) -> str:
    response = client.post("/api/v1/sessions/challenge")
    assert response.status_code == 201
    return response.get_json()["challenge"]


def test_login_gives_a_token_that_carries_the_roles(harness: Harness, client: FlaskClient) -> None:
    auditor = harness.register("auditor", "inspector")
    session = login(client, auditor)
    assert session["actor_id"] == auditor.actor_id
    assert session["roles"] == ["auditor", "inspector"]
    assert session["expires_at"].endswith("Z")
    response = client.get(f"/api/v1/actors/{auditor.actor_id}", headers=bearer(session["token"]))
    assert response.status_code == 200
    assert response.get_json()["roles"] == ["auditor", "inspector"]


def test_challenge_is_fresh_and_expires_in_minutes(client: FlaskClient) -> None:
    first = client.post("/api/v1/sessions/challenge").get_json()
    second = client.post("/api/v1/sessions/challenge").get_json()
    assert first["challenge"] != second["challenge"]
    assert first["expires_at"].endswith("Z")


def test_a_challenge_is_single_use(harness: Harness, client: FlaskClient) -> None:
    auditor = harness.register("auditor")
    body = signed(auditor, challenge(client))
    assert post_json(client, "/api/v1/sessions", body).status_code == 201
    again = post_json(client, "/api/v1/sessions", body)
    assert_problem(again, 401, "invalid-challenge")


def test_forged_and_expired_challenges_are_refused(
    harness: Harness, app: Flask, client: FlaskClient
) -> None:
    auditor = harness.register("auditor")
    real = challenge(client)
    forged = real[:-2] + ("AA" if not real.endswith("AA") else "BB")
    assert_problem(
        post_json(client, "/api/v1/sessions", signed(auditor, forged)), 401, "invalid-challenge"
    )
    old = runtime(app).sessions.challenges.issue(time.time() - 3600).value
    body = assert_problem(
        post_json(client, "/api/v1/sessions", signed(auditor, old)), 401, "invalid-challenge"
    )
    assert "expired" in body["detail"]


def test_signature_by_another_key_is_refused(harness: Harness, client: FlaskClient) -> None:
    auditor = harness.register("auditor")
    body = signed(auditor, challenge(client))
    body["signature"] = signed(Signer(), body["challenge"])["signature"]
    assert_problem(post_json(client, "/api/v1/sessions", body), 401, "bad-signature")


def test_unknown_and_revoked_keys_cannot_log_in(harness: Harness, client: FlaskClient) -> None:
    assert_problem(
        post_json(client, "/api/v1/sessions", signed(Signer(), challenge(client))),
        401,
        "unknown-key",
    )
    auditor = harness.register("auditor")
    harness.submit(
        harness.admin.envelope("actor.revoke_key", actor_id=auditor.actor_id, key_id=auditor.key_id)
    )
    assert_problem(
        post_json(client, "/api/v1/sessions", signed(auditor, challenge(client))),
        401,
        "revoked-key",
    )


def test_malformed_login_is_a_validation_problem(client: FlaskClient) -> None:
    response = post_json(client, "/api/v1/sessions", {"key_id": "nope", "challenge": "x"})
    body = assert_problem(response, 422, "validation-failed")
    assert set(body["errors"]["json"]) == {"key_id", "signature"}


def test_reads_need_a_token(client: FlaskClient) -> None:
    response = client.get("/api/v1/actors")
    assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer nonsense", "Bearer v1.e30.AAAA", "Basic dXNlcjpwYXNz", "Bearer ", "Bearer v1.ü.ü"],
)
def test_malformed_or_forged_tokens_are_401(client: FlaskClient, header: str) -> None:
    response = client.get("/api/v1/actors", headers={"Authorization": header})
    assert_problem(response, 401, "invalid-token")


def test_a_token_with_raised_roles_is_401(harness: Harness, client: FlaskClient) -> None:
    cadre = harness.register("cadre")
    version, payload, mac = login(client, cadre)["token"].split(".")
    claims = json.loads(b64url_decode(payload))
    claims["roles"] = ["admin"]
    raised = b64url_encode(json.dumps(claims).encode())
    forged = f"{version}.{raised}.{mac}"
    assert_problem(client.get("/api/v1/actors", headers=bearer(forged)), 401, "invalid-token")


def test_an_expired_token_is_401(harness: Harness, app: Flask, client: FlaskClient) -> None:
    auditor = harness.register("auditor")
    token, _ = runtime(app).sessions.tokens.issue(
        auditor.actor_id, auditor.key_id, frozenset({"auditor"}), time.time() - 3600
    )
    body = assert_problem(client.get("/api/v1/actors", headers=bearer(token)), 401, "invalid-token")
    assert "expired" in body["detail"]


def test_a_token_without_the_role_is_403(harness: Harness, client: FlaskClient) -> None:
    cadre = harness.register("cadre")
    token = login(client, cadre)["token"]
    assert_problem(client.get("/api/v1/actors", headers=bearer(token)), 403, "wrong-role")


def test_any_worker_honours_what_another_issued(harness: Harness, client: FlaskClient) -> None:
    """Two apps on one data directory stand in for two gunicorn workers."""
    other = create_app(system=harness.system, options=ApiOptions(checkpointer=False))
    try:
        auditor = harness.register("auditor")
        body = signed(auditor, challenge(client))
        token = post_json(other.test_client(), "/api/v1/sessions", body).get_json()["token"]
        assert client.get("/api/v1/actors", headers=bearer(token)).status_code == 200
    finally:
        runtime(other).close()


def test_session_secret_file_is_private(harness: Harness, client: FlaskClient) -> None:
    challenge(client)
    secret = harness.system.settings.data_dir / "session.secret"
    assert secret.stat().st_mode & 0o777 == 0o600


def test_a_configured_secret_is_shared_without_a_file(harness: Harness) -> None:
    options = ApiOptions(checkpointer=False, session_secret="s" * 40)
    apps = [create_app(system=harness.system, options=options) for _ in range(2)]
    try:
        auditor = harness.register("auditor")
        token = login(apps[0].test_client(), auditor)["token"]
        response = apps[1].test_client().get("/api/v1/actors", headers=bearer(token))
        assert response.status_code == 200
        assert not (harness.system.settings.data_dir / "session.secret").exists()
    finally:
        for app in apps:
            runtime(app).close()


def test_a_revoked_key_is_refused_on_the_very_next_read(
    harness: Harness, client: FlaskClient
) -> None:
    auditor = harness.register("auditor")
    token = login(client, auditor)["token"]
    assert client.get("/api/v1/actors", headers=bearer(token)).status_code == 200
    harness.submit(
        harness.admin.envelope("actor.revoke_key", actor_id=auditor.actor_id, key_id=auditor.key_id)
    )
    response = client.get("/api/v1/actors", headers=bearer(token))
    assert_problem(response, 401, "revoked-key")


def test_a_revoked_role_is_refused_on_the_very_next_read(
    harness: Harness, client: FlaskClient
) -> None:
    person = harness.register("auditor", "cadre")
    token = login(client, person)["token"]
    assert client.get("/api/v1/ledger/entries", headers=bearer(token)).status_code == 200
    harness.submit(
        harness.admin.envelope("actor.revoke_roles", actor_id=person.actor_id, roles=["auditor"])
    )
    for path in ("/api/v1/ledger/entries", "/api/v1/actors"):
        assert_problem(client.get(path, headers=bearer(token)), 403, "wrong-role")
    assert client.get("/api/v1/campaigns", headers=bearer(token)).status_code == 200


def test_a_token_for_an_unregistered_actor_is_401(
    harness: Harness, app: Flask, client: FlaskClient
) -> None:
    """Even with the server's own secret, a token names someone the registry must know."""
    ghost = Signer()
    token, _ = runtime(app).sessions.tokens.issue(
        ghost.actor_id, ghost.key_id, frozenset({"admin"}), time.time()
    )
    body = assert_problem(client.get("/api/v1/actors", headers=bearer(token)), 401, "invalid-token")
    assert "registered" in body["detail"]
    auditor, stranger = harness.register("auditor"), harness.register("cadre")
    token, _ = runtime(app).sessions.tokens.issue(
        auditor.actor_id, stranger.key_id, frozenset({"auditor"}), time.time()
    )
    assert_problem(client.get("/api/v1/actors", headers=bearer(token)), 401, "unknown-key")


@pytest.mark.parametrize("secret", [EXAMPLE_SESSION_SECRET, "s" * 31, "密" * 10])
def test_the_app_factory_refuses_a_known_or_short_secret(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    monkeypatch.setenv("APPRAISAL_SESSION_SECRET", secret)
    with pytest.raises(SettingsError, match="APPRAISAL_SESSION_SECRET"):
        create_app(system=harness.system)
    with pytest.raises(SettingsError):
        ApiOptions(session_secret=secret)


def test_the_example_file_holds_the_refused_secret() -> None:
    """The constant and the file must not drift apart, or the check guards nothing."""
    example = Path(__file__).parents[2] / "deploy/systemd/appraisal.env.example"
    assert f"APPRAISAL_SESSION_SECRET={EXAMPLE_SESSION_SECRET}\n" in example.read_text()


def test_serve_refuses_the_example_secret(harness: Harness) -> None:
    settings = harness.system.settings
    env = {
        "APPRAISAL_DATA_DIR": str(settings.data_dir),
        "APPRAISAL_DATABASE_URL": settings.database_url,
        "APPRAISAL_SESSION_SECRET": EXAMPLE_SESSION_SECRET,
    }
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert "appraisal.env.example" in line
