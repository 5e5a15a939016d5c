"""The served OpenAPI document describes the API, and the API keeps to it (schemathesis)."""

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.command_schemas import ANSWERS, COMMAND_SCHEMAS, OTHER_COMMAND
from domain import keys
from domain.canonical import canonical_json
from domain.envelope import COMMAND_PREFIX, format_timestamp
from domain.errors import DomainError
from service.system import command_specs
from tests.support import Harness, Signer, fuzz_examples
from tests.support.http import bearer, login, undocumented

EXAMPLES = fuzz_examples(25)


def test_every_registered_command_type_is_documented(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    command = spec["components"]["schemas"]["Envelope"]["properties"]["command"]
    mapping = command["discriminator"]["mapping"]
    assert set(mapping) == set(command_specs())
    register = spec["components"]["schemas"]["ActorRegisterCommand"]
    assert set(register["required"]) >= {"type", "id", "issued_at", "actor_id", "public_key"}


def test_every_registered_command_type_has_its_own_closed_schema(client: FlaskClient) -> None:
    """Fails when a command type is registered in the bus without a schema in
    api.command_schemas (it would be served as the generic OtherCommand)."""
    assert set(COMMAND_SCHEMAS) == set(command_specs())
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert OTHER_COMMAND not in schemas
    for command_type, schema in COMMAND_SCHEMAS.items():
        documented = schemas[schema.__name__]
        assert documented["properties"]["type"]["enum"] == [command_type]
        assert {"type", "id", "issued_at"} <= set(documented["required"])
        assert documented["additionalProperties"] is False


def test_errors_are_documented_as_problem_details(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    default = spec["components"]["responses"]["DEFAULT_ERROR"]
    assert list(default["content"]) == ["application/problem+json"]
    for path, item in spec["paths"].items():
        for method in set(item) & {"get", "post"}:
            assert "default" in item[method]["responses"], (method, path)


def test_interactive_docs_are_served(client: FlaskClient) -> None:
    for path in ("/api/v1/docs", "/api/v1/redoc"):
        response = client.get(path)
        assert response.status_code == 200
        assert "/api/v1/openapi.json" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/api/v1/docs", 3),  # Swagger UI: its stylesheet, preset and bundle
        ("/api/v1/redoc", 1),  # ReDoc: its standalone bundle
    ],
)
def test_the_docs_load_nothing_from_outside_the_deployment(
    client: FlaskClient, page: str, assets: int
) -> None:
    """An intranet has no CDN: every script and stylesheet is served by the app itself."""
    html = client.get(page).get_data(as_text=True)
    referenced = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(referenced) == assets, referenced
    for url in referenced:
        assert url.startswith("/assets/vendor/"), url
        served = client.get(url)
        assert served.status_code == 200, url
        assert served.mimetype in ("text/javascript", "application/javascript", "text/css"), url
        assert len(served.get_data()) > 100_000, url


@pytest.fixture
def admin_token(harness: Harness, client: FlaskClient) -> str:
    return login(client, harness.admin)["token"]


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_keeps_to_its_openapi_document(
    app: Flask, admin_token: str, mode: GenerationMode
) -> None:
    """Generated requests to every operation: no 5xx, documented statuses, media types, bodies.

    Driven with plain Hypothesis rather than schemathesis' pytest plugin, whose lazy
    fixture loader does not run under pytest 9.
    """
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()
        negatable = bool(operation.body) or any(operation.iter_parameters())
        if mode is GenerationMode.NEGATIVE and not negatable:
            continue

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def keeps_to_the_document(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=bearer(admin_token), checks=CHECKS)

        keeps_to_the_document()


def signed_by(signer: Signer, body: Any) -> Any:
    """A generated envelope made current and signed, so that it passes the replay window
    and the signature and reaches the checks after them. Bodies no signature can cover
    (a generated float, say) are sent as generated."""
    if not (isinstance(body, dict) and isinstance(body.get("command"), dict)):
        return body
    command = {
        **body["command"],
        "id": str(uuid.uuid4()),
        "issued_at": format_timestamp(datetime.now(UTC)),
    }
    try:
        signature = keys.sign(signer.key, COMMAND_PREFIX + canonical_json(command))
    except DomainError:
        return body
    return {**body, "command": command, "signer": signer.key_id, "signature": signature}


SIGNED_OPERATIONS = {"/api/v1/commands": EXAMPLES, "/api/v1/commands/batch": 10}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_signed_commands_keep_to_the_openapi_document(
    app: Flask, harness: Harness, mode: GenerationMode
) -> None:
    """Generated commands of every documented type, signed by the admin: never a 5xx,
    whatever the handlers make of them."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    for path, examples in SIGNED_OPERATIONS.items():
        operation = schema[path]["POST"]

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def keeps_to_the_document(case: schemathesis.Case) -> None:
            if isinstance(case.body, dict) and isinstance(case.body.get("envelopes"), list):
                case.body = {
                    **case.body,
                    "envelopes": [signed_by(harness.admin, e) for e in case.body["envelopes"]],
                }
            else:
                case.body = signed_by(harness.admin, case.body)
            case.call_and_validate(checks=CHECKS)

        keeps_to_the_document()


def test_every_operation_has_a_unique_snake_case_operation_id(client: FlaskClient) -> None:
    """Generated clients name their functions after operationIds; none may be missing."""
    document = client.get("/api/v1/openapi.json").get_json()
    ids = [
        operation.get("operationId")
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in {"get", "put", "post", "delete", "patch"}
    ]
    assert ids and all(isinstance(i, str) and re.fullmatch(r"[a-z]+(_[a-z]+)*", i) for i in ids)
    assert len(ids) == len(set(ids))
    assert "get_actor_by_id" in ids and "post_commands" in ids


def test_every_registered_command_type_has_its_answer_documented(client: FlaskClient) -> None:
    """The 2xx answer of POST /commands is one of the declared answers, chosen by `type`."""
    assert set(ANSWERS) == set(command_specs())
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    mapping = schemas["Accepted"]["discriminator"]["mapping"]
    assert set(mapping) == set(command_specs())
    cast = schemas["BallotCastAnswer"]
    assert {"ballot_id", "valid", "reason"} <= set(cast["required"])


def test_an_undocumented_answer_field_is_caught(client: FlaskClient) -> None:
    """The driver's answer check (used on every read and write of the e2e campaigns)
    refuses a member the served document does not name, per command type."""
    document = client.get("/api/v1/openapi.json").get_json()
    accepted = {"$ref": "#/components/schemas/Accepted"}
    cast = {"command_id": str(uuid.uuid4()), "type": "ballot.cast", "position": 3}
    cast |= {"ballot_id": str(uuid.uuid4()), "valid": True, "reason": None}
    assert undocumented(cast, accepted, document) == []
    assert undocumented(cast | {"proposal_hash": "0" * 64}, accepted, document) == [
        ".proposal_hash"
    ]
    propose = {"command_id": str(uuid.uuid4()), "type": "results.propose", "position": 4}
    propose |= {"campaign_id": str(uuid.uuid4()), "status": "proposed", "proposal_hash": "0"}
    assert undocumented(propose, accepted, document) == []
