"""HTTP fixtures: the real app over a real store (SQLite and PostgreSQL), via Flask's client."""

import base64
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
from tests.support import Harness
from tests.support.http import submit

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


def b64decode(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
