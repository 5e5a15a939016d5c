"""RFC 8785 canonical JSON and base64url: the byte forms signatures cover.

Numbers on the wire are integers within ±2^53 or decimal strings, never floats,
so that every verifier, in any language, canonicalises to the same bytes.

Why two paths: `rfc8785` is pure Python and was most of an audit's time. For the
values we sign (dicts, lists, strings, booleans, null, integers JCS can hold and
keys without characters beyond the BMP) the standard library's C encoder writes
exactly the JCS bytes: the same string escapes, and code point order of keys is
UTF-16 order when no key needs a surrogate pair. Anything else (tuples, other
mappings, subclasses, floats, lone surrogates) takes the reference path, so its
bytes and its errors stay those of `rfc8785`.
"""

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

import rfc8785

from domain.errors import MalformedCommand

MAX_SAFE_INTEGER = 2**53
JCS_INTEGER_LIMIT = 2**53 - 1  # rfc8785 refuses ±2^53 itself
LAST_BMP_CHARACTER = "\uffff"

_SIMPLE_SCALARS = frozenset({str, bool, type(None)})
_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    sort_keys=True,
    separators=(",", ":"),
    allow_nan=False,
    check_circular=False,
)


def check_wire_value(value: Any, path: str = "") -> None:
    """Refuse floats, huge integers and non-JSON types anywhere in a value."""
    if not _plain(value):
        _check_wire_value(value, path)


def _check_wire_value(value: Any, path: str) -> None:
    """The detailed walk: says where and why a value is not a wire value."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise MalformedCommand(f"integer out of range at {path or '/'}", path=path)
        return
    if isinstance(value, float):
        raise MalformedCommand(
            f"floats are not allowed at {path or '/'}: use an integer or a decimal string",
            path=path,
        )
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise MalformedCommand(f"non-string key at {path or '/'}", path=path)
            _check_wire_value(item, f"{path}/{key}")
        return
    if isinstance(value, Sequence):
        for index, item in enumerate(value):
            _check_wire_value(item, f"{path}/{index}")
        return
    raise MalformedCommand(f"unsupported JSON value at {path or '/'}", path=path)


def _plain(value: Any) -> bool:
    """Whether a value lies where the C encoder's bytes are the JCS bytes (see module doc).

    Recursive on containers only, so a cyclic value fails as it does in the reference path.
    """
    kind = type(value)
    if kind in _SIMPLE_SCALARS:
        return True
    if kind is int:
        return -JCS_INTEGER_LIMIT <= value <= JCS_INTEGER_LIMIT
    if kind is dict:
        for key in value:
            if type(key) is not str or (not key.isascii() and max(key) > LAST_BMP_CHARACTER):
                return False
        items = value.values()
    elif kind is list:
        items = value
    else:
        return False
    for item in items:
        kind = type(item)
        if kind in _SIMPLE_SCALARS:
            continue
        if kind is int:
            if not -JCS_INTEGER_LIMIT <= item <= JCS_INTEGER_LIMIT:
                return False
        elif not _plain(item):
            return False
    return True


def plain_canonical_json(value: Any) -> bytes | None:
    """The JCS bytes of a value the fast path covers (see the module doc), else None.

    Why public: a caller that must check a value anyway (an envelope's command) gets
    its check and its bytes from one walk; None sends it to `check_wire_value`.
    """
    if _plain(value):
        try:
            return _ENCODER.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: the reference path raises its own error
    return None


def canonical_json(value: Any) -> bytes:
    """The JCS bytes of a wire value (floats refused first)."""
    canonical = plain_canonical_json(value)
    if canonical is not None:
        return canonical
    _check_wire_value(value, "")
    return rfc8785.dumps(value)


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, length: int | None = None, what: str = "value") -> bytes:
    """Strict base64url without padding; optionally of an exact byte length."""
    if not isinstance(text, str) or "=" in text or not text.isascii():
        raise MalformedCommand(f"{what} must be unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedCommand(f"{what} is not valid base64url") from exc
    if b64url_encode(data) != text:
        raise MalformedCommand(f"{what} is not canonical base64url")
    if length is not None and len(data) != length:
        raise MalformedCommand(f"{what} must be {length} bytes, got {len(data)}")
    return data
