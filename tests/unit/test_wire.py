"""The wire limits against an independent model, and at their exact bounds."""

import calendar
import json
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import wire
from domain.canonical import MAX_SAFE_INTEGER
from domain.envelope import parse_timestamp
from domain.errors import DecimalOutOfRange, InvalidDate, InvalidJSON, WireLimit
from domain.rules import MAX_DECIMAL_DIGITS, MAX_DECIMAL_SCALE, parse_decimal

# A JSON document as the model sees it: objects are lists of pairs, so keys may repeat.
CHARACTERS = ["a", "Z", "é", "党", "\U0001f600", "\t", "\n", "\r", "\x00", "\x1f", "\x7f",
              "\ud800", "\udfff", "\u2028", " "]  # fmt: skip
LONG = "x" * (wire.MAX_STRING_LENGTH + 1)
LONG_KEY = "k" * (wire.MAX_KEY_LENGTH + 1)
# Failing examples with LONG in them print long; that is all the warning says.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

texts = st.one_of(
    st.lists(st.sampled_from(CHARACTERS), max_size=6).map("".join),
    st.sampled_from([LONG, "x" * wire.MAX_STRING_LENGTH, LONG_KEY, "k" * wire.MAX_KEY_LENGTH]),
).filter(lambda s: "\ud800\udfff" not in s)  # a high then a low surrogate: one character
integers = st.one_of(
    st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER),
    st.sampled_from([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, 10**16, 10**40]),
    st.integers(),
)
scalars = st.one_of(
    st.tuples(st.just("str"), texts),
    st.tuples(st.just("int"), integers),
    st.tuples(st.just("float"), st.sampled_from(["1.5", "-0.0", "1e400", "2E-3", "0.1"])),
    st.tuples(st.just("literal"), st.sampled_from([True, False, None])),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.tuples(st.just("array"), st.lists(inner, max_size=4)),
        st.tuples(st.just("object"), st.lists(st.tuples(texts, inner), max_size=4)),
    ),
    max_leaves=12,
)


def deep(node: tuple[str, Any], levels: int) -> tuple[str, Any]:
    for _ in range(levels):
        node = ("array", [node])
    return node


def text_of(node: tuple[str, Any]) -> str:
    kind, value = node
    if kind == "object":
        return "{" + ",".join(f"{json.dumps(k)}:{text_of(v)}" for k, v in value) + "}"
    if kind == "array":
        return "[" + ",".join(text_of(v) for v in value) + "]"
    if kind == "float":
        return value
    return json.dumps(value)


def refusals(node: tuple[str, Any], depth: int = 0) -> set[str]:
    """The model: every limit the document breaks, by code."""
    kind, value = node
    if kind == "str":
        return _string_refusals(value, wire.MAX_STRING_LENGTH, allowed="\t\n")
    if kind == "int":
        return set() if abs(value) <= 2**53 else {"integer-out-of-range"}
    if kind == "float":
        return {"float-not-allowed"}
    if kind == "literal":
        return set()
    found = {"nesting-too-deep"} if depth + 1 > 64 else set()
    children = value if kind == "array" else [v for _, v in value]
    if kind == "object":
        keys = [k for k, _ in value]
        if len(set(keys)) != len(keys):
            found.add("duplicate-key")
        for key in keys:
            found |= _string_refusals(key, wire.MAX_KEY_LENGTH, allowed="")
    for child in children:
        found |= refusals(child, depth + 1)
    return found


def _string_refusals(text: str, limit: int, allowed: str) -> set[str]:
    found = set()
    if len(text) > limit:
        found.add("string-too-long")
    characters = set(text)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in characters):
        found.add("lone-surrogate")
    if any(ord(c) < 0x20 and c not in allowed for c in characters):
        found.add("control-character")
    return found


def last_wins(node: tuple[str, Any]) -> tuple[str, Any]:
    """The document a dict holds: of repeated keys, the last."""
    kind, value = node
    if kind == "object":
        return kind, [(k, last_wins(v)) for k, v in dict(value).items()]
    if kind == "array":
        return kind, [last_wins(v) for v in value]
    return node


def value_of(node: tuple[str, Any]) -> Any:
    kind, value = node
    if kind == "object":
        return {k: value_of(v) for k, v in value}
    if kind == "array":
        return [value_of(v) for v in value]
    return float(value) if kind == "float" else value


@settings(max_examples=200, deadline=None)
@given(documents, st.sampled_from([0, 0, 0, 62, 63, 64, 70]))
def test_loads_refuses_exactly_what_the_model_refuses(
    document: tuple[str, Any], levels: int
) -> None:
    node = deep(document, levels)
    expected = refusals(node)
    try:
        parsed = wire.loads(text_of(node).encode())
    except WireLimit as refusal:
        assert refusal.code in expected, (refusal.code, expected)
    else:
        assert not expected
        assert parsed == value_of(node)


@settings(max_examples=200, deadline=None)
@given(documents.map(lambda d: ("array", [d])))
def test_check_agrees_with_loads_on_a_value_built_in_process(document: tuple[str, Any]) -> None:
    """`check` (for commands built in-process) and `loads` are one rule, bar what only
    text can say (duplicate keys)."""
    expected = refusals(last_wins(document))
    value = value_of(document)
    try:
        wire.check(value)
    except WireLimit as refusal:
        assert refusal.code in expected
    else:
        assert not expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (b"", "invalid-json"),
        (b"[NaN]", "invalid-json"),
        (b"{", "invalid-json"),
        (b'"\xff"', "invalid-json"),
        (b"[" * 65 + b"]" * 65, "nesting-too-deep"),
        (b"[" * 5000 + b"]" * 5000, "nesting-too-deep"),
        (b"1" * 5000, "integer-out-of-range"),
        (b"-" + b"9" * 17, "integer-out-of-range"),
    ],
)
def test_loads_refusals(text: bytes, code: str) -> None:
    with pytest.raises(WireLimit) as refusal:
        wire.loads(text)
    assert refusal.value.code == code
    if code == "invalid-json":
        assert isinstance(refusal.value, InvalidJSON)


def test_the_bounds_themselves_are_accepted() -> None:
    assert wire.loads(b"[" * 64 + b"]" * 64)
    assert wire.loads(f"[{2**53}, {-(2**53)}, -0]".encode()) == [2**53, -(2**53), 0]
    wire.check({"k" * wire.MAX_KEY_LENGTH: "x" * wire.MAX_STRING_LENGTH, "t": "a\tb\nc"})


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    st.sampled_from(["T", "t"]),
    st.sampled_from(["", ".%f", ".5", ".123456789", ".000"]),
    st.sampled_from(["Z", "z", "+00:00"]),
)
def test_issued_at_reads_every_rfc3339_utc_form(
    moment: datetime, separator: str, fraction: str, zone: str
) -> None:
    text = f"{moment.year:04}" + moment.strftime(f"-%m-%d{separator}%H:%M:%S{fraction}{zone}")
    micro = {"": 0, ".%f": moment.microsecond, ".5": 500_000, ".123456789": 123_456, ".000": 0}
    expected = moment.replace(microsecond=micro[fraction], tzinfo=UTC)
    assert parse_timestamp(text) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 9999),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
)
def test_issued_at_names_a_real_instant_or_is_refused(
    year: int, month: int, day: int, hour: int, minute: int, second: int
) -> None:
    """Model: the calendar module's own idea of which days exist."""
    text = f"{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"
    real = (
        year >= 1
        and 1 <= month <= 12
        and 1 <= day <= calendar.monthrange(year, month)[1]
        and hour < 24
        and minute < 60
        and second < 60
    )
    try:
        parse_timestamp(text)
    except InvalidDate:
        assert not real
    else:
        assert real


@pytest.mark.parametrize(
    "text",
    ["2026-01-10 09:30:00Z", "2026-01-10T09:30:00+08:00", "2026-01-10T09:30:00-00:00",
     "2026-01-10T09:30Z", "2026-01-10T09:30:00.1234567890Z", "2026-01-10T09:30:00Z\n", None, 5],
)  # fmt: skip
def test_issued_at_refuses_other_forms(text: Any) -> None:
    with pytest.raises(InvalidDate):
        parse_timestamp(text)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 40), st.integers(0, 30))
def test_decimals_are_bounded_in_digits_and_scale(whole: int, scale: int) -> None:
    text = "9" * whole + ("." + "5" * scale if scale else "")
    if whole <= MAX_DECIMAL_DIGITS and scale <= MAX_DECIMAL_SCALE:
        assert parse_decimal(text) == Fraction(text)
    else:
        with pytest.raises(DecimalOutOfRange):
            parse_decimal(text)
