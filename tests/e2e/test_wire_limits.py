"""Wire limits over HTTP (DESIGN §3, issue 13 item 2): each is a 4xx with its own problem
type, checked before anything else (a signature, a key, a handler), and writes nothing."""

import base64
import copy
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from domain import keys
from domain.canonical import canonical_json
from domain.envelope import COMMAND_PREFIX, format_timestamp
from domain.errors import DomainError
from domain.rules import MAX_DECIMAL_DIGITS, MAX_DECIMAL_SCALE
from domain.wire import MAX_KEY_LENGTH, MAX_STRING_LENGTH
from tests.e2e.conftest import assert_problem, refused
from tests.support import Harness, Signer
from tests.support.http import login, submit
from tests.support.scenario import RULES, new_id

RULESETS = Path(__file__).parents[2] / "service/rulesets"
SEED002 = json.loads((RULESETS / "seed002_dazehu.json").read_text())
BATCH = "/api/v1/commands/batch"


def post_text(client: FlaskClient, path: str, text: str | bytes) -> TestResponse:
    return client.post(path, data=text, content_type="application/json")


def refused_text(
    harness: Harness, client: FlaskClient, path: str, text: str, code: str
) -> dict[str, Any]:
    before = harness.size
    body = assert_problem(post_text(client, path, text), 422, code)
    assert harness.size == before
    return body


def sign_raw(signer: Signer, command: dict[str, Any]) -> dict[str, Any]:
    """A correct signature over any value JCS can write — what an attacker's own client
    produces, without `seal`'s refusal of what the wire refuses."""
    signature = keys.sign(signer.key, COMMAND_PREFIX + canonical_json(command))
    return {"command": command, "signer": signer.key_id, "signature": signature}


def command(command_type: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": command_type,
        "id": new_id(),
        "issued_at": format_timestamp(datetime.now(UTC)),
        **fields,
    }


def registration(person: Signer, **overrides: Any) -> dict[str, Any]:
    fields = {
        "actor_id": person.actor_id,
        "name": "Alice",
        "roles": ["cadre"],
        "public_key": person.public_key,
    }
    return command("actor.register", **{**fields, **overrides})


def campaign_creation(rules: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    fields = {"campaign_id": new_id(), "title": "2025年度述职评议", "year": 2025, "rules": rules}
    return command("campaign.create", **{**fields, **overrides})


def stored_envelopes(harness: Harness, position: int) -> list[dict[str, Any]]:
    """The envelopes kept in the events up to ledger `position` (from its command's start)."""
    entries = harness.system.ledger.entries(max(0, position - 3), 4)
    states = [json.loads(base64.b64decode(e["state"])) for e in entries]
    return [s["envelope"] for s in states if s.get("envelope")]


# -- duplicate keys ------------------------------------------------------------------------


def test_a_duplicate_key_is_refused_though_the_signed_copy_comes_last(
    harness: Harness, client: FlaskClient
) -> None:
    """Last-wins parsing would accept this: the signed name is the last one. A first-wins
    proxy in front would see Mallory registered."""
    envelope = sign_raw(harness.admin, registration(Signer()))
    text = json.dumps(envelope).replace('"command": {', '"command": {"name": "Mallory", ', 1)
    body = refused_text(harness, client, "/api/v1/commands", text, "duplicate-key")
    assert body["key"] == "name"
    assert submit(client, envelope).status_code == 201  # the same envelope, once per key


def test_duplicate_keys_are_refused_in_batches_and_sessions(
    harness: Harness, client: FlaskClient
) -> None:
    envelope = json.dumps(sign_raw(harness.admin, registration(Signer())))
    batch = f'{{"envelopes": [{envelope}], "envelopes": [{envelope}]}}'
    refused_text(harness, client, BATCH, batch, "duplicate-key")
    twice = envelope.replace('"signer":', '"signer": "x", "signer":')
    nested = f'{{"envelopes": [{twice}]}}'
    refused_text(harness, client, BATCH, nested, "duplicate-key")
    challenge = client.post("/api/v1/sessions/challenge").get_json()["challenge"]
    signature = keys.sign(harness.admin.key, b"appraisal-session/v1\n" + challenge.encode())
    login_body = (
        f'{{"key_id": "{"0" * 32}", "key_id": "{harness.admin.key_id}", '
        f'"challenge": "{challenge}", "signature": "{signature}"}}'
    )
    refused_text(harness, client, "/api/v1/sessions", login_body, "duplicate-key")
    login(client, harness.admin)  # the challenge round itself works


# -- integers ------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2**53, -(2**53)])
def test_exactly_two_to_the_53_is_a_wire_integer(
    harness: Harness, client: FlaskClient, n: int
) -> None:
    """Once a 500 (the reference JCS refuses ±2^53): now it is signed and judged as any
    integer — refused for the field's own range, accepted where the field allows it."""
    envelope = sign_raw(harness.admin, campaign_creation(RULES, year=n))
    body = refused(harness, client, envelope, 422, "malformed-command")
    assert body["field"] == "year"
    if n > 0:
        rules = {**RULES, "scale": n}
        accepted = submit(client, sign_raw(harness.admin, campaign_creation(rules)))
        assert accepted.status_code == 201, accepted.get_data(as_text=True)


@pytest.mark.parametrize("n", [2**53 + 1, -(2**53) - 1, 10**20, -(10**4000)])
def test_integers_beyond_two_to_the_53_are_refused_before_the_signature(
    harness: Harness, client: FlaskClient, n: int
) -> None:
    envelope = harness.admin.envelope("campaign.create", **_fields(campaign_creation(RULES)))
    envelope["command"]["year"] = n  # no signature can cover it: JCS cannot write it
    refused(harness, client, envelope, 422, "integer-out-of-range")


def test_a_float_is_refused_anywhere_in_a_body(harness: Harness, client: FlaskClient) -> None:
    key_id, signature = "0" * 32, "A" * 86
    text = f'{{"key_id": "{key_id}", "challenge": "c", "signature": "{signature}", "n": 1e400}}'
    refused_text(harness, client, "/api/v1/sessions", text, "float-not-allowed")


# -- decimal strings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "points",
    ["1" * 3000, "1" * (MAX_DECIMAL_DIGITS + 1), "0." + "1" * (MAX_DECIMAL_SCALE + 1)],
    ids=["thousands", "too-many-digits", "too-long-a-fraction"],
)
def test_indicator_points_with_too_many_digits_are_refused_at_rules_validation(
    harness: Harness, client: FlaskClient, points: str
) -> None:
    """A few thousand digits once passed validation and then made every `results.propose`
    of the campaign fail for good."""
    rules = copy.deepcopy(SEED002)
    group = next(i for i, g in enumerate(rules["groups"]) if "indicators" in g)
    rules["groups"][group]["indicators"][0]["points"] = points
    envelope = sign_raw(harness.admin, campaign_creation(rules))
    body = refused(harness, client, envelope, 422, "decimal-out-of-range")
    assert body["path"] == f"/groups/{group}/indicators/0/points"


def test_indicator_points_at_the_bounds_are_accepted(harness: Harness, client: FlaskClient) -> None:
    rules = copy.deepcopy(SEED002)
    group = next(g for g in rules["groups"] if "indicators" in g)
    group["indicators"][0]["points"] = "9" * MAX_DECIMAL_DIGITS + "." + "9" * MAX_DECIMAL_SCALE
    response = submit(client, sign_raw(harness.admin, campaign_creation(rules)))
    assert response.status_code == 201, response.get_data(as_text=True)


# -- strings -------------------------------------------------------------------------------


def test_nul_is_refused_in_an_actor_name_and_a_campaign_title(
    harness: Harness, client: FlaskClient
) -> None:
    """Validly signed, so only the wire stops them (on PostgreSQL, a NUL once stopped the
    projection for good)."""
    envelope = sign_raw(harness.admin, registration(Signer(), name="A\x00"))
    name = refused(harness, client, envelope, 422, "control-character")
    assert name["path"] == "/command/name"
    title = sign_raw(harness.admin, campaign_creation(RULES, title="评议\x00"))
    refused(harness, client, title, 422, "control-character")


def test_nul_is_refused_in_a_ballot_rows_appraisee_id(
    harness: Harness, client: FlaskClient
) -> None:
    evaluator = harness.register("evaluator")
    ballot = command(
        "ballot.cast",
        campaign_id=new_id(),
        meeting_id=new_id(),
        ballot_id=new_id(),
        group="leading_group",
        rows=[{"appraisee_id": f"{uuid.uuid4()}\x00", "choice": "competent"}],
    )
    body = refused(harness, client, sign_raw(evaluator, ballot), 422, "control-character")
    assert body["path"] == "/command/rows/0/appraisee_id"


@pytest.mark.parametrize("character", ["\x01", "\x1f", "\r", "\x0b"])
def test_other_c0_controls_are_refused_even_in_free_text(
    harness: Harness, client: FlaskClient, character: str
) -> None:
    envelope = sign_raw(harness.admin, registration(Signer(), name=f"A{character}B"))
    refused(harness, client, envelope, 422, "control-character")


@pytest.mark.parametrize("character", ["\t", "\n"])
def test_tab_and_newline_are_refused_in_one_line_fields_and_in_keys(
    harness: Harness, client: FlaskClient, character: str
) -> None:
    envelope = sign_raw(harness.admin, registration(Signer(), name=f"A{character}B"))
    body = refused(harness, client, envelope, 422, "control-character")
    assert body["field"] == "name"
    keyed = sign_raw(harness.admin, registration(Signer(), **{f"x{character}": 1}))
    refused(harness, client, keyed, 422, "control-character")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c.update(name="\ud800"),
        lambda c: c.update(name="a\udfffb"),
        lambda c: c.update(roles=["cadre", "\udbff"]),
        lambda c: c.update({"\ud83d": 1}),
    ],
    ids=["value", "inside-a-value", "in-a-list", "key"],
)
def test_a_lone_surrogate_is_refused_before_the_signature(
    harness: Harness, client: FlaskClient, mangle: Any
) -> None:
    envelope = harness.admin.envelope("actor.register", **_fields(registration(Signer())))
    mangle(envelope["command"])  # JCS cannot write it, so no signature can cover it
    refused(harness, client, envelope, 422, "lone-surrogate")


def test_strings_and_keys_are_bounded(harness: Harness, client: FlaskClient) -> None:
    long_value = sign_raw(harness.admin, registration(Signer(), name="x" * (MAX_STRING_LENGTH + 1)))
    refused(harness, client, long_value, 422, "string-too-long")
    long_key = sign_raw(harness.admin, registration(Signer(), **{"k" * (MAX_KEY_LENGTH + 1): 1}))
    refused(harness, client, long_key, 422, "string-too-long")


# -- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "issued_at",
    [
        "2026-02-30T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-01-10T24:00:00Z",
        "2016-12-31T23:59:60Z",
        "2026-01-10T09:30:00+08:00",
        "2026-01-10T09:30:00",
        "2026-01-10T09:30:00.Z",
        "２０２６-01-10T09:30:00Z",
    ],
)
def test_issued_at_must_be_a_real_utc_instant_even_without_a_valid_signature(
    harness: Harness, client: FlaskClient, issued_at: str
) -> None:
    envelope = {
        "command": {**registration(Signer()), "issued_at": issued_at},
        "signer": harness.admin.key_id,
        "signature": "A" * 86,
    }
    body = refused(harness, client, envelope, 422, "invalid-date")
    assert body["field"] == "issued_at"


@pytest.mark.parametrize(
    "form",
    [
        "%Y-%m-%dT%H:%M:%SZ",
        "%Y-%m-%dT%H:%M:%S+00:00",
        "%Y-%m-%dT%H:%M:%S.5Z",
        "%Y-%m-%dT%H:%M:%S.%f+00:00",  # what openapi-python-client sends
        "%Y-%m-%dT%H:%M:%S.123456789Z",
        "%Y-%m-%dt%H:%M:%Sz",
    ],
)
def test_issued_at_takes_any_rfc3339_utc_form_and_is_kept_as_sent(
    harness: Harness, client: FlaskClient, form: str
) -> None:
    issued_at = datetime.now(UTC).strftime(form)
    envelope = sign_raw(harness.admin, {**registration(Signer()), "issued_at": issued_at})
    response = submit(client, envelope)
    assert response.status_code == 201, response.get_data(as_text=True)
    stored = stored_envelopes(harness, response.get_json()["position"])
    assert stored and all(e == envelope for e in stored)


def test_a_period_must_name_real_days(harness: Harness, client: FlaskClient) -> None:
    period = {"start": "2026-02-30", "end": "2026-03-10"}
    envelope = sign_raw(harness.admin, campaign_creation(RULES, period=period))
    body = refused(harness, client, envelope, 422, "invalid-date")
    assert body["field"] == "start"


def _fields(document: dict[str, Any]) -> dict[str, Any]:
    """A command's own fields, for `Signer.envelope`, which adds type, id and issued_at."""
    return {k: v for k, v in document.items() if k not in ("type", "id", "issued_at")}


# -- properties ----------------------------------------------------------------------------

HOSTILE_STRINGS = [
    *("", "\x00", "a\x00b", "\x1f", "\r\n", "\t", "\n", "\ud800", "x\udfff", "\u2028"),
    *("党\U0001f600", "x" * (MAX_STRING_LENGTH + 1), "2026-02-30T00:00:00Z", "0" * 40),
]
HOSTILE_TEXT = st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=8))
HOSTILE_NUMBERS = st.one_of(
    st.sampled_from([2**53, -(2**53), 2**53 + 1, -(2**53) - 1, 10**30, 0, -1]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)
hostile_values = st.recursive(
    st.one_of(HOSTILE_TEXT, HOSTILE_NUMBERS, st.booleans(), st.none()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(HOSTILE_TEXT, inner, max_size=3)
    ),
    max_leaves=6,
)


def signable(command: dict[str, Any]) -> bool:
    try:
        canonical_json(command)
    except DomainError:  # sent unsigned then: the wire must refuse it before the signature
        return False
    return True


@st.composite
def hostile_bodies(draw: st.DrawFn, harness: Harness) -> tuple[str, str]:
    """A path and a body: a real command with one hostile change, re-signed when JCS can
    write it (so that only the checks after the signature stand in its way)."""
    kind = draw(st.sampled_from(["register", "campaign", "session"]))
    if kind == "session":
        body = draw(st.dictionaries(HOSTILE_TEXT, hostile_values, max_size=4))
        return "/api/v1/sessions", json.dumps(body)
    document = registration(Signer()) if kind == "register" else campaign_creation(RULES)
    field = draw(st.sampled_from(sorted(document)))
    change = draw(st.sampled_from(["replace", "add", "duplicate"]))
    if change == "replace":
        document[field] = draw(hostile_values)
    elif change == "add":
        document[draw(HOSTILE_TEXT)] = draw(hostile_values)
    if signable(document):
        envelope = sign_raw(harness.admin, document)
    else:
        envelope = {"command": document, "signer": harness.admin.key_id, "signature": "A" * 86}
    text = json.dumps(envelope)
    if change == "duplicate":
        text = text.replace('"command": {', f'"command": {{"{field}": 0, ', 1)
    if draw(st.booleans()):
        return BATCH, f'{{"envelopes": [{text}]}}'
    return "/api/v1/commands", text


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_hostile_bodies_never_get_a_5xx_and_refused_ones_write_nothing(
    harness: Harness, client: FlaskClient, data: st.DataObject
) -> None:
    path, body = data.draw(hostile_bodies(harness))
    before = harness.size
    response = post_text(client, path, body)
    assert response.status_code < 500, response.get_data(as_text=True)
    answer = response.get_json(force=True)
    if path == BATCH and response.status_code == 200:
        accepted = answer["results"][0]["status"] == "accepted"
    else:
        accepted = response.status_code in (200, 201)
    assert (harness.size > before) == (accepted and path != "/api/v1/sessions")
