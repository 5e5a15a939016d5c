"""RFC 8785 canonical JSON and base64url: the byte forms signatures cover.

Numbers on the wire are integers within ±2^53 or decimal strings, never floats,
so that every verifier, in any language, canonicalises to the same bytes.
"""

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

import rfc8785

from domain.errors import MalformedCommand

MAX_SAFE_INTEGER = 2**53


def check_wire_value(value: Any, path: str = "") -> None:
    """Refuse floats, huge integers and non-JSON types anywhere in a value."""
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
            check_wire_value(item, f"{path}/{key}")
        return
    if isinstance(value, Sequence):
        for index, item in enumerate(value):
            check_wire_value(item, f"{path}/{index}")
        return
    raise MalformedCommand(f"unsupported JSON value at {path or '/'}", path=path)


def canonical_json(value: Any) -> bytes:
    """The JCS bytes of a wire value (floats refused first)."""
    check_wire_value(value)
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
