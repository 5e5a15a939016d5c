"""RFC 8785 canonical JSON and base64url: the byte forms signatures cover.

Numbers on the wire are integers within ±2^53 or decimal strings, never floats,
so that every verifier, in any language, canonicalises to the same bytes. JCS
writes an integer as ECMAScript writes that number: for |n| ≤ 2^53, every such
integer is exactly a double, that is its decimal digits.

Why two paths: most values we sign (dicts, lists, strings, booleans, null,
integers, keys without characters beyond the BMP) are written by the standard
library's C encoder exactly as JCS writes them: the same string escapes, and code
point order of keys is UTF-16 order when no key needs a surrogate pair. Anything
else (tuples, other mappings, subclasses, keys beyond the BMP) is checked and
copied into that shape, keys in UTF-16 order, and then written by the same encoder.
`rfc8785` (the reference implementation, which refuses ±2^53 itself) is the tests'
oracle for both paths.
"""

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from domain.errors import FloatNotAllowed, IntegerOutOfRange, LoneSurrogate, MalformedCommand

MAX_SAFE_INTEGER = 2**53  # inclusive: DESIGN §3 allows exactly ±2^53
LAST_BMP_CHARACTER = "\uffff"

_SIMPLE_SCALARS = frozenset({str, bool, type(None)})
_SORTED = json.JSONEncoder(
    ensure_ascii=False,
    sort_keys=True,
    separators=(",", ":"),
    allow_nan=False,
    check_circular=False,
)
_AS_GIVEN = json.JSONEncoder(
    ensure_ascii=False,
    separators=(",", ":"),
    allow_nan=False,
    check_circular=False,
)


def check_number(value: int | float, path: str) -> None:
    """The wire's number rule: integers within ±2^53 inclusive; never floats."""
    if isinstance(value, float):
        raise FloatNotAllowed(
            f"floats are not allowed at {path or '/'}: use an integer or a decimal string",
            path=path,
        )
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise IntegerOutOfRange(
            f"integer out of range at {path or '/'} (allowed: ±2^53)", path=path
        )


def _plain(value: Any) -> bool:
    """Whether a value lies where the C encoder's bytes are the JCS bytes (see module doc).

    Recursive on containers only, so a cyclic value fails as it does in the other path.
    """
    kind = type(value)
    if kind in _SIMPLE_SCALARS:
        return True
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
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
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                return False
        elif not _plain(item):
            return False
    return True


def plain_canonical_json(value: Any) -> bytes | None:
    """The JCS bytes of a value the fast path covers (see the module doc), else None.

    Why public: a caller that must check a value anyway (an envelope's command) gets
    its bytes from one walk; None sends it to `canonical_json`.
    """
    if _plain(value):
        return _utf8(_SORTED.encode(value))
    return None


def canonical_json(value: Any) -> bytes:
    """The JCS bytes of a JSON value (floats and integers beyond ±2^53 refused)."""
    canonical = plain_canonical_json(value)
    if canonical is not None:
        return canonical
    return _utf8(_AS_GIVEN.encode(_jcs_shaped(value, "")))


def _jcs_shaped(value: Any, path: str) -> Any:
    """A copy of `value` of plain types only, every object's keys in UTF-16 order."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int | float):
        check_number(value, path)
        return int(value)
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise MalformedCommand(f"non-string key at {path or '/'}", path=path)
        try:
            ordered = sorted(value.items(), key=lambda item: item[0].encode("utf-16-be"))
        except UnicodeEncodeError:
            raise LoneSurrogate(f"a lone surrogate in a key at {path or '/'}") from None
        return {str.__str__(k): _jcs_shaped(v, f"{path}/{k}") for k, v in ordered}
    if isinstance(value, list | tuple):
        return [_jcs_shaped(item, f"{path}/{index}") for index, item in enumerate(value)]
    raise MalformedCommand(f"unsupported JSON value at {path or '/'}", path=path)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise LoneSurrogate("a lone surrogate (half a UTF-16 pair) cannot be encoded") from None


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
