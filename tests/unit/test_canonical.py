"""Both canonical paths are byte for byte `rfc8785`, and refuse what JCS cannot hold.

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

from domain.canonical import MAX_SAFE_INTEGER, canonical_json
from domain.entries import LEAF_PREFIX, leaf_input
from domain.envelope import COMMAND_PREFIX, Envelope, parse_envelope, parse_uuid
from domain.errors import FloatNotAllowed, IntegerOutOfRange, LoneSurrogate, MalformedCommand

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


def as_doubles(value: Any) -> Any:
    """The same value with every integer as the double it is (exact within ±2^53)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: as_doubles(v) for k, v in value.items()}
    return [as_doubles(v) for v in value]


edge_integers = st.sampled_from([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, SAFE, -SAFE, 0])
edge_values = st.recursive(
    st.one_of(edge_integers, scalars),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(tuple), st.dictionaries(text, inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(edge_values)
def test_integers_up_to_two_to_the_53_are_written_as_ecmascript_writes_them(value: Any) -> None:
    """JCS writes a number as ECMAScript does; rfc8785 refuses ±2^53 as integers but
    writes them as doubles, which they are exactly: the oracle for both paths."""
    assert canonical_json(value) == rfc8785.dumps(as_doubles(value))


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ({"a": 1.5}, FloatNotAllowed, "floats are not allowed at /a"),
        ({"a": [1, 2**53 + 1]}, IntegerOutOfRange, "integer out of range at /a/1"),
        ((-(2**53) - 1,), IntegerOutOfRange, "integer out of range at /0"),
        ({1: "x"}, MalformedCommand, "non-string key at /"),
        ({"a": {1, 2}}, MalformedCommand, "unsupported JSON value at /a"),
        ({"a": b"bytes"}, MalformedCommand, "unsupported JSON value at /a"),
    ],
)
def test_non_json_values_are_refused_with_their_path(
    value: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        canonical_json(value)


def test_exactly_two_to_the_53_is_canonical() -> None:
    assert canonical_json([2**53, -(2**53)]) == b"[9007199254740992,-9007199254740992]"
    assert canonical_json((2**53,)) == b"[9007199254740992]"


@pytest.mark.parametrize("value", ["\ud800", {"\udfff": 1}, ["a\ud83d"], {"a": 1, "b\udfff": 2}])
def test_lone_surrogates_are_refused_as_jcs_refuses_them(value: Any) -> None:
    with pytest.raises(LoneSurrogate):
        canonical_json(value)
    with pytest.raises(ValueError):
        rfc8785.dumps(value)
    with pytest.raises(LoneSurrogate):
        canonical_json((value,))  # the other path


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


# What the wire lets through: no C0 controls (tab and newline in values only).
wire_key = st.text(
    st.one_of(tricky_characters, st.characters(exclude_categories=["Cs"])).filter(
        lambda c: c >= " "
    )
)
wire_values = st.recursive(
    st.one_of(scalars.filter(lambda v: not isinstance(v, str)), wire_key, st.just("a\tb\n")),
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(wire_key, inner, max_size=6)
    ),
    max_leaves=40,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(wire_key, wire_values, max_size=6))
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
