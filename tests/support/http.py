"""The HTTP transport of the scenario: every write a signed envelope POSTed to
/api/v1/commands, every read a GET (with a bearer token where one is needed), and
every answer checked against the served OpenAPI document."""

import json
import re
from typing import Any

import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from domain import keys
from domain.envelope import SESSION_PREFIX
from entrypoints.signing import Signer
from tests.support import Harness
from tests.support.scenario import CityCampaign


def post_json(client: FlaskClient, path: str, document: Any, **kwargs: Any) -> TestResponse:
    return client.post(path, data=json.dumps(document), content_type="application/json", **kwargs)


def submit(client: FlaskClient, envelope: dict[str, Any]) -> TestResponse:
    return post_json(client, "/api/v1/commands", envelope)


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


class Conformance:
    """Checks real answers (not generated ones) against the served document: schemathesis
    validates them, and `undocumented` refuses any member of a 2xx body the document
    does not name (as if every described object were closed)."""

    def __init__(self, app: Flask) -> None:
        self.schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        self.document = app.test_client().get("/api/v1/openapi.json").get_json()
        self.urls = app.url_map.bind("localhost")

    def check(self, method: str, path: str, response: TestResponse) -> TestResponse:
        rule, _ = self.urls.match(path.partition("?")[0], method=method, return_rule=True)
        template = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        self.schema[template][method].validate_response(response)
        if 200 <= response.status_code < 300 and response.is_json:
            operation = self.document["paths"][template][method.lower()]
            content = operation["responses"][str(response.status_code)]["content"]
            extra = undocumented(
                response.get_json(), content["application/json"]["schema"], self.document
            )
            assert not extra, f"{method} {template} answers undocumented {extra}"
        return response


def undocumented(value: Any, schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    """Paths of members in `value` that `schema` does not describe.

    An object schema with `properties` is taken as closed; one without (a map such as
    `issued`) checks its values against `additionalProperties`. `oneOf` follows the
    discriminator, else the branch that describes the most."""
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rpartition("/")[2]]
    branches = schema.get("oneOf") or schema.get("anyOf")
    if branches and isinstance(value, dict):
        discriminator = schema.get("discriminator")
        if discriminator and value.get(discriminator["propertyName"]) in discriminator["mapping"]:
            branches = [{"$ref": discriminator["mapping"][value[discriminator["propertyName"]]]}]
        extras = min(
            (undocumented(value, _merged(schema, b, document), document) for b in branches),
            key=len,
        )
        return extras
    if isinstance(value, list) and "items" in schema:
        return [
            f"[{i}]{p}"
            for i, v in enumerate(value)
            for p in undocumented(v, schema["items"], document)
        ]
    if not isinstance(value, dict):
        return []
    properties = schema.get("properties")
    extra: list[str] = []
    for key, member in value.items():
        if properties is not None and key in properties:
            extra += [f".{key}{p}" for p in undocumented(member, properties[key], document)]
        elif isinstance(schema.get("additionalProperties"), dict):
            extra += [
                f".{key}{p}" for p in undocumented(member, schema["additionalProperties"], document)
            ]
        elif properties is not None:
            extra.append(f".{key}")
    return extra


def _merged(
    base: dict[str, Any], branch: dict[str, Any], document: dict[str, Any]
) -> dict[str, Any]:
    """`base`'s own members with one of its branches' (a oneOf beside properties)."""
    while "$ref" in branch:
        branch = document["components"]["schemas"][branch["$ref"].rpartition("/")[2]]
    properties = {**base.get("properties", {}), **branch.get("properties", {})}
    merged = {
        k: v for k, v in {**base, **branch}.items() if k not in {"oneOf", "anyOf", "discriminator"}
    }
    return merged | ({"properties": properties} if properties or "properties" in base else {})


class Api:
    """One client of the API: signs and posts commands, reads its own writes."""

    def __init__(self, client: FlaskClient, harness: Harness) -> None:
        self.client = client
        self.harness = harness
        self.position = -1  # of the last accepted command
        self.conformance = Conformance(client.application)
        self._tokens: dict[str, str] = {}

    def submit(self, envelope: dict[str, Any]) -> TestResponse:
        return self.conformance.check("POST", "/api/v1/commands", submit(self.client, envelope))

    def post(self, who: Signer, command_type: str, **fields: Any) -> TestResponse:
        return self.submit(who.envelope(command_type, **fields))

    def send(self, who: Signer, command_type: str, **fields: Any) -> dict[str, Any]:
        return self.accepted(self.post(who, command_type, **fields))

    def accept(self, envelope: dict[str, Any]) -> dict[str, Any]:
        return self.accepted(self.submit(envelope))

    def result(self, answer: dict[str, Any]) -> dict[str, Any]:
        return answer

    def accepted(self, response: TestResponse) -> dict[str, Any]:
        assert response.status_code == 201, response.get_data(as_text=True)
        body = response.get_json()
        self.position = body["position"]
        return body

    def opened_at(self, meeting_id: str, group: str) -> str:
        return str(self.read(f"/api/v1/meetings/{meeting_id}/ballot", group=group)["opened_at"])

    def register(self, *roles: str, name: str) -> Signer:
        person = Signer()
        self.send(self.harness.admin, "actor.register", **person.registration(name, roles))
        return person

    def token(self, who: Signer) -> str:
        if who.key_id not in self._tokens:
            self._tokens[who.key_id] = login(self.client, who)["token"]
        return self._tokens[who.key_id]

    def get(self, path: str, who: Signer | None = None, **params: Any) -> TestResponse:
        headers = {} if who is None else bearer(self.token(who))
        response = self.client.get(path, query_string=params or None, headers=headers)
        return self.conformance.check("GET", path, response)

    def read(self, path: str, who: Signer | None = None, **params: Any) -> Any:
        """A read that includes every write so far (`min_position`)."""
        response = self.get(path, who, min_position=self.position, **params)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()


class HttpCampaign(CityCampaign):
    """The scenario over HTTP, with the raw POST for tests that expect a refusal."""

    def __init__(self, api: Api, **kwargs: Any) -> None:
        super().__init__(api, **kwargs)
        self.api = api

    @property
    def path(self) -> str:
        return f"/api/v1/campaigns/{self.id}"

    def post(self, who: Signer, command_type: str, **fields: Any) -> TestResponse:
        return self.api.post(who, command_type, campaign_id=self.id, **fields)


def proposed_campaign(client: FlaskClient, harness: Harness) -> HttpCampaign:
    """Seed 000's campaign published, voted, its meeting closed and results proposed (not
    yet approved): the state in which most commands and reads apply."""
    return vote_and_propose(HttpCampaign(Api(client, harness)))


def vote_and_propose(c: HttpCampaign) -> HttpCampaign:
    """Set `c` up, cast every ballot, close its meeting and propose results."""
    c.set_up()
    c.open()
    c.vote()
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    c.send(c.organizer, "results.propose")
    return c
