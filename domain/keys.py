"""Ed25519 keys and key ids (DESIGN §3).

A key id is the lowercase hex of the first 16 bytes of SHA-256 of the raw
public key, so anyone holding the public key can recompute it.
"""

import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from domain.canonical import b64url_decode, b64url_encode
from domain.errors import BadSignature

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).digest()[:16].hex()


def raw_public_key(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def encode_public_key(public_key: bytes) -> str:
    return b64url_encode(public_key)


def decode_public_key(text: str, *, what: str = "public key") -> bytes:
    """Parse a base64url raw Ed25519 public key and check it is a valid point."""
    raw = b64url_decode(text, length=PUBLIC_KEY_SIZE, what=what)
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise BadSignature(f"{what} is not a valid Ed25519 key") from exc
    return raw


def sign(private_key: Ed25519PrivateKey, message: bytes) -> str:
    return b64url_encode(private_key.sign(message))


def verify(public_key: bytes, message: bytes, signature: str) -> None:
    """Raise BadSignature unless `signature` (base64url) signs `message`."""
    raw_signature = b64url_decode(signature, length=SIGNATURE_SIZE, what="signature")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw_signature, message)
    except InvalidSignature as exc:
        raise BadSignature("signature does not verify") from exc
