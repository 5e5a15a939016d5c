"""A campaign driven over HTTP only: every write a signed envelope POSTed to
/api/v1/commands, every read a GET (with a bearer token where one is needed), and
every answer checked against the served OpenAPI document."""

import json
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.e2e.conftest import bearer, login, submit
from tests.support import Harness, Signer

RULES = json.loads((Path(__file__).parents[2] / "service/rulesets/seed000_city.json").read_text())
DIMENSIONS = ("morality", "ability", "diligence", "performance", "integrity")


def new_id() -> str:
    return str(uuid.uuid4())


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

    def accepted(self, response: TestResponse) -> dict[str, Any]:
        assert response.status_code == 201, response.get_data(as_text=True)
        body = response.get_json()
        self.position = body["position"]
        return body

    def register(self, *roles: str, name: str) -> Signer:
        person = Signer()
        self.send(
            self.harness.admin,
            "actor.register",
            actor_id=person.actor_id,
            name=name,
            roles=list(roles),
            public_key=person.public_key,
        )
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


class HttpCampaign:
    """Seed 000's city campaign, its participants registered by the admin over HTTP."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.id = new_id()
        self.meeting = new_id()
        self.organizer = api.register("organizer", name="组织部")
        self.committee = api.register("committee", name="党委会")
        self.inspector = api.register("inspector", name="纪检")
        self.auditor = api.register("auditor", name="审计")
        self.teller = api.register("teller", name="计票员")
        self.leaders = [api.register("evaluator", name=f"领导{i}") for i in range(3)]
        self.city_leader = api.register("evaluator", name="包片市级领导")
        self.cadres = [api.register("cadre", name=f"干部{i}") for i in range(4)]
        self.appraisees = [new_id() for _ in self.cadres]
        self.residents = [Signer() for _ in range(8)]  # one-time credentials
        self.units = [Signer() for _ in range(3)]
        self.paper_serial = "R-0001"
        self.casts: dict[str, dict[str, Any]] = {}  # ballot id → the command's answer
        self.groups: dict[str, str] = {}  # ballot id → its group

    @property
    def path(self) -> str:
        return f"/api/v1/campaigns/{self.id}"

    def send(self, who: Signer, command_type: str, **fields: Any) -> dict[str, Any]:
        return self.api.send(who, command_type, campaign_id=self.id, **fields)

    def post(self, who: Signer, command_type: str, **fields: Any) -> TestResponse:
        return self.api.post(who, command_type, campaign_id=self.id, **fields)

    def set_up(self, rules: dict[str, Any] = RULES, year: int = 2025) -> None:
        self.send(
            self.organizer,
            "campaign.create",
            title=f"{year}年度社区干部述职评议",
            year=year,
            rules=rules,
            jurisdiction="某市",
            period={"start": "2026-01-07", "end": "2026-01-17"},
        )
        self.send(
            self.organizer,
            "campaign.add_appraisees",
            appraisees=[
                {
                    "appraisee_id": appraisee,
                    "name": f"干部{i}",
                    "position": "社区党支部书记",
                    "unit": "东马社区",
                    "category": "cadre",
                    "actor_id": cadre.actor_id,
                }
                for i, (appraisee, cadre) in enumerate(
                    zip(self.appraisees, self.cadres, strict=True)
                )
            ],
        )
        self.send(self.organizer, "campaign.name_committee", actor_ids=[self.committee.actor_id])
        self.send(self.organizer, "campaign.publish")

    def open(self, more_residents: Sequence[str] = ()) -> dict[str, Any]:
        """Open the meeting; `more_residents` are public keys of further resident
        credentials (from printed slips) besides the driver's own."""
        return self.send(
            self.organizer,
            "balloting.open",
            meeting_id=self.meeting,
            credentials=[
                {
                    "group": "resident_rep",
                    "public_keys": [k.public_key for k in self.residents] + list(more_residents),
                },
                {"group": "unit_rep", "public_keys": [k.public_key for k in self.units]},
            ],
            paper=[{"group": "resident_rep", "serials": [self.paper_serial]}],
            evaluators=[
                {"group": "leading_group", "actor_ids": [s.actor_id for s in self.leaders]},
                {"group": "city_leaders", "actor_ids": [self.city_leader.actor_id]},
                {"group": "self", "actor_ids": [c.actor_id for c in self.cadres]},
            ],
        )

    def ballot(
        self, who: Signer, group: str, rows: list[dict[str, Any]], **extra: Any
    ) -> dict[str, Any]:
        """A signed ballot.cast envelope (not yet sent)."""
        return who.envelope(
            "ballot.cast",
            campaign_id=self.id,
            meeting_id=self.meeting,
            ballot_id=new_id(),
            group=group,
            rows=rows,
            **extra,
        )

    def cast(
        self, who: Signer, group: str, rows: list[dict[str, Any]], **extra: Any
    ) -> dict[str, Any]:
        envelope = self.ballot(who, group, rows, **extra)
        body = self.api.accepted(self.api.submit(envelope))
        self.casts[body["ballot_id"]] = body
        self.groups[body["ballot_id"]] = group
        return body

    def choices(self, *codes: str) -> list[dict[str, Any]]:
        return [
            {"appraisee_id": a, "choice": c} for a, c in zip(self.appraisees, codes, strict=True)
        ]

    def vote(self) -> None:
        """Every named evaluator, every unit credential, six residents validly, one
        resident with too many 优秀 (invalid), one paper ballot abstaining on a row."""
        for n, leader in enumerate(self.leaders):
            self.cast(
                leader,
                "leading_group",
                [
                    {"appraisee_id": a, "scores": dict.fromkeys(DIMENSIONS, 90 - 5 * i + n)}
                    for i, a in enumerate(self.appraisees)
                ],
            )
        self.cast(
            self.city_leader,
            "city_leaders",
            self.choices("excellent", "competent", "competent", "incompetent"),
        )
        for appraisee, cadre in zip(self.appraisees, self.cadres, strict=True):
            self.cast(cadre, "self", [{"appraisee_id": appraisee, "choice": "competent"}])
        for unit in self.units:
            self.cast(unit, "unit_rep", self.choices("excellent", *["competent"] * 3))
        for resident in self.residents[:6]:
            self.cast(
                resident,
                "resident_rep",
                self.choices("competent", "excellent", "competent", "incompetent"),
            )
        self.cast(
            self.residents[6],
            "resident_rep",
            self.choices("excellent", "excellent", "competent", "competent"),
        )
        self.cast(
            self.teller,
            "resident_rep",
            [
                *self.choices(*["competent"] * 4)[:3],
                {"appraisee_id": self.appraisees[3], "abstain": True},
            ],
            paper_serial=self.paper_serial,
        )
