"""HTTP fixtures: the real app over a real store (SQLite and PostgreSQL), via Flask's client."""

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from api import create_app
from api.config import ApiOptions
from api.runtime import Runtime
from domain import keys
from domain.envelope import SESSION_PREFIX
from tests.support import Harness, Signer

PROBLEMS = "https://appraisal-ledger.example/problems/"


# The views are kept in-process on both stores, polled often so reads after writes are quick.
OPTIONS = ApiOptions(checkpointer=False, inprocess_projections=True, projection_poll_seconds=0.05)


@pytest.fixture
def app(harness: Harness) -> Iterator[Flask]:
    app = create_app(system=harness.system, options=OPTIONS)
    yield app
    runtime(app).close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin_key(harness: Harness) -> Ed25519PrivateKey:
    """The deployment's root of trust, as its operator holds it (`appraisal init --admin-key`)."""
    return harness.admin.key


def runtime(app: Flask) -> Runtime:
    return app.extensions["appraisal"]


def post_json(client: FlaskClient, path: str, document: Any, **kwargs: Any) -> TestResponse:
    return client.post(path, data=json.dumps(document), content_type="application/json", **kwargs)


def submit(client: FlaskClient, envelope: dict[str, Any]) -> TestResponse:
    return post_json(client, "/api/v1/commands", envelope)


def assert_problem(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["type"] == PROBLEMS + code, body
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def refused(
    harness: Harness, client: FlaskClient, envelope: object, status: int, code: str
) -> dict[str, Any]:
    """Submit a command that must be refused with `code`, writing nothing."""
    before = harness.size
    body = assert_problem(submit(client, envelope), status, code)
    assert harness.size == before
    assert body["instance"] == "/api/v1/commands"
    return body


def login(client: FlaskClient, signer: Signer) -> dict[str, Any]:
    challenge = client.post("/api/v1/sessions/challenge").get_json()["challenge"]
    signature = keys.sign(signer.key, SESSION_PREFIX + challenge.encode())
    response = post_json(
        client,
        "/api/v1/sessions",
        {"key_id": signer.key_id, "challenge": challenge, "signature": signature},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64decode(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
