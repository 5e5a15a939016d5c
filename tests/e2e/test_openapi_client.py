"""A test client that knows only the served OpenAPI document and DESIGN.md runs a
campaign start to finish.

Nothing of this project is imported to build requests. The client finds the
command endpoint, the command types and their fields in /api/v1/openapi.json and
refuses to send a field the document does not describe, or to leave out one it
requires; it signs every envelope itself as DESIGN §3 says (RFC 8785, the
prefix, Ed25519, key id = first 16 bytes of SHA-256 in hex, unpadded base64url).
Its only secret from the deployment is the admin key, the root of trust.
"""

import base64
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask.testing import FlaskClient

OPENAPI = "/api/v1/openapi.json"
COMMAND_PREFIX = b"appraisal-command/v1\n"
SESSION_PREFIX = b"appraisal-session/v1\n"
JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "boolean": bool,
}
# DESIGN §5: two groups answering with grade choices, quotas on 优秀.
RULES = {
    "scale": 100,
    "groups": [
        {
            "code": "leaders",
            "label": "领导",
            "weight": "0.6",
            "anonymous": False,
            "form": "grade_choice",
            "min_ballots": 2,
        },
        {
            "code": "residents",
            "label": "居民代表",
            "weight": "0.4",
            "anonymous": True,
            "form": "grade_choice",
            "min_ballots": 3,
        },
    ],
    "choices": [
        {"code": "excellent", "label": "优秀", "score": "95"},
        {"code": "competent", "label": "称职", "score": "80"},
        {"code": "incompetent", "label": "不称职", "score": "50"},
    ],
    "aggregation": {"trim": 0, "trim_min_ballots": 7, "missing_group": "block"},
    "grades": [
        {"code": "excellent", "label": "优秀", "min_score": "85", "max_share": "0.5"},
        {"code": "competent", "label": "称职", "min_score": "60"},
        {"code": "incompetent", "label": "不称职"},
    ],
    "tie_break": ["group:leaders"],
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_id() -> str:
    return str(uuid.uuid4())


class Key:
    """An Ed25519 key pair, named as DESIGN §3 names keys."""

    def __init__(self, private: Ed25519PrivateKey | None = None) -> None:
        self.private = private or Ed25519PrivateKey.generate()
        self.raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key = b64url(self.raw)
        self.key_id = hashlib.sha256(self.raw).hexdigest()[:32]
        self.actor_id = new_id()

    def sign(self, message: bytes) -> str:
        return b64url(self.private.sign(message))


class Document:
    """The served OpenAPI document, asked only what a client needs to know."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.command_path, self.envelope = self._command_endpoint()

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            *_, name = schema["$ref"].split("/")
            schema = self.spec["components"]["schemas"][name]
        return schema

    def _command_endpoint(self) -> tuple[str, dict[str, Any]]:
        for path, item in self.spec["paths"].items():
            body = item.get("post", {}).get("requestBody", {})
            schema = body.get("content", {}).get("application/json", {}).get("schema")
            if schema and {"command", "signer", "signature"} <= set(
                self.resolve(schema).get("properties", {})
            ):
                return path, self.resolve(schema)
        raise AssertionError("the document describes no endpoint taking a signed envelope")

    def command_types(self) -> dict[str, str]:
        return self.envelope["properties"]["command"]["discriminator"]["mapping"]

    def conform(self, value: Any, schema: dict[str, Any], where: str) -> None:
        """Fail unless `value` has every required member and only documented ones."""
        schema = self.resolve(schema)
        if "discriminator" in schema:
            mapping = schema["discriminator"]["mapping"]
            tag = value.get(schema["discriminator"]["propertyName"])
            assert tag in mapping, f"{where}: {tag!r} is not a documented command type"
            schema = self.resolve({"$ref": mapping[tag]})
        kind = schema.get("type")
        if kind is not None:
            assert isinstance(value, JSON_TYPES[kind]), f"{where}: the document says {kind}"
        if kind == "object":
            missing = set(schema.get("required", ())) - set(value)
            assert not missing, f"{where}: the document requires {sorted(missing)}"
            properties = schema.get("properties", {})
            if schema.get("additionalProperties") is False:
                unknown = set(value) - set(properties)
                assert not unknown, f"{where}: {sorted(unknown)} are not documented"
            for name, member in value.items():
                if name in properties:
                    self.conform(member, properties[name], f"{where}.{name}")
        if kind == "array":
            for i, item in enumerate(value):
                self.conform(item, schema.get("items", {}), f"{where}[{i}]")
        if "enum" in schema:
            assert value in schema["enum"], f"{where}: {value!r} is not one of {schema['enum']}"


class Client:
    """Signs, checks against the document, posts; reads with a session token."""

    def __init__(self, http: FlaskClient) -> None:
        self.http = http
        self.doc = Document(http.get(OPENAPI).get_json())
        self.position = -1

    def send(
        self, key: Key, command_type: str, issued_at: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Sign now, or at `issued_at` (a credential ballot signs its meeting's opening)."""
        issued_at = issued_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        command = {"type": command_type, "id": new_id(), "issued_at": issued_at, **fields}
        signature = key.sign(COMMAND_PREFIX + rfc8785.dumps(command))
        envelope = {"command": command, "signer": key.key_id, "signature": signature}
        self.doc.conform(envelope, self.doc.envelope, command_type)
        response = self.http.post(self.doc.command_path, json=envelope)
        assert response.status_code == 201, response.get_data(as_text=True)
        accepted = response.get_json()
        self.position = accepted["position"]
        return accepted

    def register(self, admin: Key, *roles: str) -> Key:
        person = Key()
        self.send(
            admin,
            "actor.register",
            actor_id=person.actor_id,
            name=f"{roles[0]} {person.key_id[:6]}",
            roles=list(roles),
            public_key=person.public_key,
        )
        return person

    def login(self, key: Key) -> str:
        paths = self.doc.spec["paths"]
        assert {"/api/v1/sessions/challenge", "/api/v1/sessions"} <= set(paths)
        challenge = self.http.post("/api/v1/sessions/challenge").get_json()["challenge"]
        signature = key.sign(SESSION_PREFIX + challenge.encode())
        body = {"key_id": key.key_id, "challenge": challenge, "signature": signature}
        response = self.http.post("/api/v1/sessions", json=body)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()["token"]

    def read(self, template: str, token: str | None = None, **ids: str) -> Any:
        assert "get" in self.doc.spec["paths"][template], f"GET {template} is not documented"
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        response = self.http.get(
            template.format(**ids),
            query_string={"min_position": self.position},
            headers=headers,
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()


def test_every_command_of_the_campaign_is_documented(client: FlaskClient) -> None:
    documented = Client(client).doc.command_types()
    needed = {
        "actor.register",
        "campaign.create",
        "campaign.add_appraisees",
        "campaign.publish",
        "balloting.open",
        "ballot.cast",
        "balloting.close",
        "results.propose",
        "results.approve",
        "results.publish",
        "results.finalize",
    }
    assert needed <= set(documented)


def test_the_client_refuses_what_the_document_does_not_allow(client: FlaskClient) -> None:
    doc = Client(client).doc
    command = {
        "type": "campaign.publish",
        "id": new_id(),
        "issued_at": "2026-01-10T09:30:00Z",
        "campaign_id": new_id(),
    }
    envelope = {"command": command, "signer": "0" * 32, "signature": "A" * 86}
    doc.conform(envelope, doc.envelope, "publish")
    with pytest.raises(AssertionError, match="not documented"):
        doc.conform({**envelope, "command": {**command, "colour": "red"}}, doc.envelope, "x")
    del command["campaign_id"]
    with pytest.raises(AssertionError, match="requires"):
        doc.conform(envelope, doc.envelope, "x")


def test_a_campaign_from_the_openapi_document_alone(
    client: FlaskClient, admin_key: Ed25519PrivateKey
) -> None:
    api = Client(client)
    admin = Key(admin_key)
    organizer = api.register(admin, "organizer")
    committee = api.register(admin, "committee")
    leaders = [api.register(admin, "evaluator") for _ in range(2)]
    residents = [Key() for _ in range(3)]  # one-time credentials, never registered

    campaign, meeting = new_id(), new_id()
    first, second = new_id(), new_id()
    api.send(
        organizer, "campaign.create", campaign_id=campaign, title="年度测评", year=2025, rules=RULES
    )
    api.send(
        organizer,
        "campaign.add_appraisees",
        campaign_id=campaign,
        appraisees=[
            {
                "appraisee_id": appraisee,
                "name": name,
                "position": "书记",
                "unit": "东马社区",
                "category": "cadre",
            }
            for appraisee, name in ((first, "甲"), (second, "乙"))
        ],
    )
    api.send(
        organizer, "campaign.name_committee", campaign_id=campaign, actor_ids=[committee.actor_id]
    )
    api.send(organizer, "campaign.publish", campaign_id=campaign)
    api.send(
        organizer,
        "balloting.open",
        campaign_id=campaign,
        meeting_id=meeting,
        evaluators=[{"group": "leaders", "actor_ids": [k.actor_id for k in leaders]}],
        credentials=[{"group": "residents", "public_keys": [k.public_key for k in residents]}],
    )
    receipts = {}
    definition = f"/api/v1/meetings/{meeting}/ballot?group=residents"
    opened_at = api.http.get(definition).get_json()["opened_at"]
    for voter, group, signed_at in [
        *((k, "leaders", None) for k in leaders),
        *((k, "residents", opened_at) for k in residents),
    ]:
        ballot = new_id()
        cast = api.send(
            voter,
            "ballot.cast",
            issued_at=signed_at,
            campaign_id=campaign,
            meeting_id=meeting,
            ballot_id=ballot,
            group=group,
            rows=[
                {"appraisee_id": first, "choice": "excellent"},
                {"appraisee_id": second, "choice": "competent"},
            ],
        )
        receipts[ballot] = cast["receipt"]
    api.send(organizer, "balloting.close", campaign_id=campaign, meeting_id=meeting)
    proposal = api.send(organizer, "results.propose", campaign_id=campaign)
    api.send(
        committee,
        "results.approve",
        campaign_id=campaign,
        proposal_hash=proposal["proposal_hash"],
        adjustments=[],
    )
    api.send(admin, "results.publish", campaign_id=campaign, window_days=0)
    api.send(admin, "results.finalize", campaign_id=campaign)

    for ballot, receipt in receipts.items():
        shown = api.read("/api/v1/ballots/{ballot_id}", ballot_id=ballot)
        assert (shown["status"], shown["ledger_index"], shown["leaf_hash"]) == (
            "valid",
            receipt["ledger_index"],
            receipt["leaf_hash"],
        )
    token = api.login(leaders[0])
    results = api.read("/api/v1/campaigns/{campaign_id}/results", token, campaign_id=campaign)
    assert (results["campaign_id"], results["status"]) == (campaign, "finalized")
    by_id = {r["appraisee_id"]: r for r in results["results"]}
    assert (by_id[first]["score"], by_id[first]["score_exact"]) == ("95.00", "95/1")
    assert (by_id[first]["grade"], by_id[first]["rank"]) == ("excellent", 1)
    assert (by_id[second]["grade"], by_id[second]["rank"]) == ("competent", 2)
    assert by_id[second]["groups"]["residents"] == {
        "ballots": 3,
        "score": "80.00",
        "score_exact": "80/1",
    }
