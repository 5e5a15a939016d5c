"""The fast canonical forms are byte for byte `rfc8785`, and refuse what it refuses.

Stored signatures and leaf hashes cover these bytes, so any drift would make
existing ledgers fail to verify.
"""

import base64
import hashlib
import uuid
from collections import OrderedDict
from enum import IntEnum
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.canonical import canonical_json, check_wire_value
from domain.entries import LEAF_PREFIX, leaf_input
from domain.envelope import COMMAND_PREFIX, Envelope, parse_envelope, parse_uuid
from domain.errors import MalformedCommand

SAFE = 2**53 - 1

# Keys around the places UTF-16 and code point order disagree: the private use area
# (U+E000–U+F8FF), the end of the BMP, and characters beyond it (surrogate pairs).
TRICKY = (
    'aBé\x00\x1f\x7f"\\\t\n\u2028\ud7ff\ue000\uf8ff\ufb33\uffff\U00010000\U0001f600\U0010ffff党'
)
tricky_characters = st.sampled_from(list(TRICKY))
text = st.text(st.one_of(tricky_characters, st.characters(exclude_categories=["Cs"])))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-SAFE, max_value=SAFE),
    st.sampled_from([0, -1, SAFE, -SAFE, 2**31, -(2**32)]),
    text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(text, inner, max_size=6)),
    max_leaves=40,
)


@settings(max_examples=600, deadline=None)
@given(json_values)
def test_fast_path_is_rfc8785(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)
    check_wire_value(value)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(text, scalars, min_size=2, max_size=8))
def test_key_order_is_utf16_order(value: dict[str, Any]) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


def test_keys_beyond_the_bmp_sort_by_utf16() -> None:
    value = {"\U0001f600": 1, "\uff61": 2}  # code point order would put U+FF61 first
    assert canonical_json(value) == rfc8785.dumps(value) == '{"😀":1,"｡":2}'.encode()


def test_other_containers_and_subclasses_take_the_reference_path() -> None:
    class Small(IntEnum):
        ONE = 1

    for value in (
        (1, "a"),
        OrderedDict(b=1, a=[True, None]),
        {"n": Small.ONE},
        [2**53 - 1, -(2**53 - 1)],
    ):
        assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": 1.5}, "floats are not allowed at /a"),
        ({"a": [1, 2**53 + 1]}, "integer out of range at /a/1"),
        ({1: "x"}, "non-string key at /"),
        ({"a": {1, 2}}, "unsupported JSON value at /a"),
    ],
)
def test_non_wire_values_are_refused_with_their_path(value: Any, message: str) -> None:
    with pytest.raises(MalformedCommand, match=message):
        check_wire_value(value)
    with pytest.raises(MalformedCommand, match=message):
        canonical_json(value)


def test_limits_match_the_reference() -> None:
    check_wire_value(2**53)  # the wire allows it; JCS itself cannot hold it
    with pytest.raises(rfc8785.IntegerDomainError):
        canonical_json(2**53)
    for value in ("\ud800", {"\udfff": 1}, ["a\ud83d"], {"a": 1, "b\udfff": 2}):
        with pytest.raises(ValueError) as fast:
            canonical_json(value)
        with pytest.raises(ValueError) as reference:
            rfc8785.dumps(value)
        assert type(fast.value) is type(reference.value)


@settings(max_examples=300, deadline=None)
@given(
    st.uuids().map(str) | text,
    st.integers(min_value=-SAFE, max_value=SAFE),
    st.sampled_from(["domain.balloting:CastBallot.Cast", 'a"b\\c\x01\x7f']) | text,
    st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()) | text,
)
def test_leaf_input_is_the_jcs_of_its_fields(
    stream: str, version: int, topic: str, state: str
) -> None:
    document = {"stream": stream, "version": version, "topic": topic, "state": state}
    assert leaf_input(stream, version, topic, state) == LEAF_PREFIX + rfc8785.dumps(document)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(text, json_values, max_size=6), text, text)
def test_envelope_bytes_are_the_jcs_of_the_envelope(
    command: dict[str, Any], signer: str, signature: str
) -> None:
    envelope = Envelope(command=command, signer=signer, signature=signature)
    assert envelope.signing_input() == COMMAND_PREFIX + rfc8785.dumps(command)
    whole = rfc8785.dumps({"command": command, "signer": signer, "signature": signature})
    assert envelope.digest() == hashlib.sha256(whole).hexdigest()


def _reference_parse_uuid(value: Any) -> bool:
    """Whether the UUID check before its fast path accepted `value`."""
    try:
        return str(uuid.UUID(value)) == value
    except (ValueError, TypeError, AttributeError):
        return False


@settings(max_examples=300, deadline=None)
@given(
    st.uuids().flatmap(
        lambda u: st.sampled_from(
            [str(u), str(u).upper(), u.hex, f"{{{u}}}", f"urn:uuid:{u}", str(u)[:-1] + "g"]
        )
    )
    | st.text(alphabet="0123456789abcdefABCDEF-{}", min_size=30, max_size=40)
)
def test_parse_uuid_accepts_exactly_the_canonical_form(value: str) -> None:
    try:
        accepted = parse_uuid(value, "id") == value
    except MalformedCommand:
        accepted = False
    assert accepted == _reference_parse_uuid(value)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(text, json_values, max_size=6))
def test_parsed_envelope_bytes_are_the_jcs_of_the_envelope(extra: dict[str, Any]) -> None:
    command = {
        **extra,
        "type": "ballot.cast",
        "id": "7490e578-d550-4c5d-aa90-65622f5e8150",
        "issued_at": "2026-01-10T09:30:00Z",
    }
    document = {"command": command, "signer": "0" * 32, "signature": "c2ln"}
    envelope = parse_envelope(document)
    assert envelope.signing_input() == COMMAND_PREFIX + rfc8785.dumps(command)
    assert envelope.digest() == hashlib.sha256(rfc8785.dumps(document)).hexdigest()
