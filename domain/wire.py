"""Wire limits (DESIGN §3): what any JSON body may hold, checked before anything reads it.

I-JSON (RFC 7493) and ours, each refused with its own error (`domain.errors.WireLimit`):
no duplicate object keys; at most `MAX_DEPTH` nested containers; integers within
±2^53 inclusive and no floats (`domain.canonical.check_number`); strings and keys
without lone surrogates or C0 control characters other than tab and newline, and
keys without those either; strings at most `MAX_STRING_LENGTH` characters, keys at
most `MAX_KEY_LENGTH`. Narrower limits belong to the fields that need them: single-
line text (`domain.fields.text`), decimal strings (`domain.rules.parse_decimal`),
dates and timestamps (`domain.envelope.parse_timestamp`, `parse_date`).

`loads` is the one parser of posted JSON (HTTP bodies, the CLI's files); `check` is
the same walk over a value built in-process, which `parse_envelope` and `seal` apply
to every command, so nothing outside the limits is signed, verified or stored.
"""

import json
import re
from collections.abc import Mapping
from typing import Any

from domain.canonical import MAX_SAFE_INTEGER, check_number
from domain.errors import (
    ControlCharacter,
    DuplicateKey,
    IntegerOutOfRange,
    InvalidJSON,
    LoneSurrogate,
    MalformedCommand,
    NestingTooDeep,
    StringTooLong,
)

MAX_DEPTH = 64
MAX_STRING_LENGTH = 100_000
MAX_KEY_LENGTH = 256

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f]")
_CONTROL_IN_KEY = re.compile("[\x00-\x1f]")
_SUSPECT_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff]")
_SUSPECT_IN_KEY = re.compile("[\x00-\x1f\ud800-\udfff]")


def loads(data: bytes | str) -> Any:
    """Parse a JSON document under the wire limits."""
    try:
        text = data if isinstance(data, str) else data.decode(json.detect_encoding(data))
        value = _DECODER.decode(text)
    except RecursionError:
        raise NestingTooDeep(f"the document is nested deeper than {MAX_DEPTH} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidJSON(f"the body is not valid JSON: {exc}") from None
    except ValueError:  # int() of a literal beyond Python's 4300 digits
        raise IntegerOutOfRange("an integer of thousands of digits is beyond ±2^53") from None
    check(value)
    return value


def _constant(name: str) -> Any:
    raise InvalidJSON(f"{name} is not JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                break
            seen.add(key)
        shown = _printable(key)
        raise DuplicateKey(f"the key {shown!r} appears twice in one object", key=shown)
    return document


# One decoder, built once: `json.loads` with hooks builds a new one on every call.
_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_constant)


def check(value: Any, path: str = "") -> None:
    """Refuse any part of `value` beyond the wire limits, naming where (a JSON pointer)."""
    if not _within(value, 1):
        _find_refusal(value, path)


def _within(value: Any, depth: int) -> bool:
    """Whether a plain JSON value (exact dicts, lists, str, int…) keeps every limit.

    The quick walk every body takes: no paths, scalars checked inline. Anything it is
    unsure of (another type, a violation) is left to `_find_refusal`, which names it.
    """
    kind = type(value)
    if kind is str:
        return len(value) <= MAX_STRING_LENGTH and not _SUSPECT_IN_TEXT.search(value)
    if kind is dict:
        if depth > MAX_DEPTH:
            return False
        for key in value:
            if type(key) is not str or len(key) > MAX_KEY_LENGTH or _SUSPECT_IN_KEY.search(key):
                return False
        items = value.values()
    elif kind is list:
        if depth > MAX_DEPTH:
            return False
        items = value
    else:
        return _plain_scalar(value)
    for item in items:
        kind = type(item)
        if kind is str:
            if len(item) > MAX_STRING_LENGTH or _SUSPECT_IN_TEXT.search(item):
                return False
        elif kind is dict or kind is list:
            if not _within(item, depth + 1):
                return False
        elif not _plain_scalar(item):
            return False
    return True


def _plain_scalar(value: Any) -> bool:
    kind = type(value)
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    return value is None or kind is bool


def _find_refusal(value: Any, path: str) -> None:
    """The detailed walk: raises the refusal of the first part beyond a limit."""
    stack = [(value, path, 1)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, Mapping):
            _check_depth(depth, where)
            for key, child in item.items():
                _check_key(key, where)
                stack.append((child, f"{where}/{key}", depth + 1))
        elif isinstance(item, list | tuple):
            _check_depth(depth, where)
            stack.extend((child, f"{where}/{i}", depth + 1) for i, child in enumerate(item))
        elif item is None or isinstance(item, bool):
            continue
        elif isinstance(item, int | float):
            check_number(item, where)
        else:
            raise MalformedCommand(f"unsupported JSON value at {where or '/'}", path=where)


def _check_depth(depth: int, where: str) -> None:
    if depth > MAX_DEPTH:
        raise NestingTooDeep(
            f"nested deeper than {MAX_DEPTH} levels at {where or '/'}", path=_printable(where)
        )


def _check_text(text: str, where: str) -> None:
    if len(text) > MAX_STRING_LENGTH:
        raise StringTooLong(
            f"a string longer than {MAX_STRING_LENGTH} characters at {where or '/'}",
            path=_printable(where),
        )
    if _SUSPECT_IN_TEXT.search(text):
        _refuse_characters(text, where, _CONTROL_IN_TEXT, "tab and newline only")


def _check_key(key: Any, where: str) -> None:
    if type(key) is not str:
        raise MalformedCommand(f"non-string key at {where or '/'}", path=where)
    if len(key) > MAX_KEY_LENGTH:
        raise StringTooLong(
            f"a key longer than {MAX_KEY_LENGTH} characters at {where or '/'}",
            path=_printable(where),
        )
    if _SUSPECT_IN_KEY.search(key):
        _refuse_characters(key, where, _CONTROL_IN_KEY, "none at all in keys")


def _refuse_characters(text: str, where: str, controls: re.Pattern[str], allowed: str) -> None:
    if _SURROGATE.search(text):
        raise LoneSurrogate(
            f"a lone surrogate (half a UTF-16 pair) at {_printable(where) or '/'}",
            path=_printable(where),
        )
    found = controls.search(text)
    assert found is not None
    raise ControlCharacter(
        f"control character U+{ord(found.group()):04X} at {_printable(where) or '/'} "
        f"(C0 controls: {allowed})",
        path=_printable(where),
    )


def _printable(where: str) -> str:
    """A path safe to echo: keys on it may themselves be what is refused."""
    return where if where.isprintable() and not _SURROGATE.search(where) else ascii(where)[1:-1]
