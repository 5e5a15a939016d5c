"""C2SP tlog-checkpoint bodies, signed as C2SP signed-notes with Ed25519.

Why: a checkpoint is the ledger's signed tree head, in the format existing
transparency tooling (witnesses, monitors, Go's note package) already reads,
so third parties can check the ledger without our code.

Pure: no I/O, no clock, no database.
"""

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from domain.merkle import HASH_SIZE

ED25519_SIGNATURE_TYPE = b"\x01"
ED25519_KEY_SIZE = 32
SIGNATURE_PREFIX = "\u2014 "
MAX_SIGNATURES = 100
MAX_TREE_SIZE = 2**64 - 1

_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class CheckpointError(ValueError):
    """A checkpoint or signed note is malformed, unsigned by the key, or badly signed."""


@dataclass(frozen=True)
class Checkpoint:
    """The three mandatory lines of a checkpoint: which log, how many leaves, which root."""

    origin: str
    size: int
    root: bytes


def _check_text(text: str, what: str) -> None:
    """Signed-note text rules: non-empty, newline-terminated UTF-8, no control characters."""
    if not text.endswith("\n"):
        raise CheckpointError(f"{what} must end with a newline")
    if _CONTROL.search(text):
        raise CheckpointError(f"{what} contains a control character")
    try:
        text.encode()
    except UnicodeEncodeError as e:
        raise CheckpointError(f"{what} is not valid UTF-8") from e


def _check_name(name: str) -> None:
    """Signed-note key names: non-empty, no Unicode spaces, no plus."""
    if not name or "+" in name or any(c.isspace() for c in name) or _CONTROL.search(name):
        raise CheckpointError(f"invalid key name {name!r}")


def _b64decode(text: str, what: str) -> bytes:
    """Strict standard base64: canonical encoding only, so each value has one spelling."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise CheckpointError(f"{what} is not valid base64") from e
    if base64.b64encode(raw).decode() != text:
        raise CheckpointError(f"{what} is not canonical base64")
    return raw


def checkpoint_body(origin: str, size: int, root: bytes) -> str:
    """The C2SP tlog-checkpoint note text: origin, tree size and base64 root lines."""
    if not origin or "\n" in origin or _CONTROL.search(origin):
        raise CheckpointError("origin must be one non-empty line")
    if not 0 <= size <= MAX_TREE_SIZE:
        raise CheckpointError(f"tree size {size} is out of range")
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"root has {len(root)} bytes, want {HASH_SIZE}")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def parse_checkpoint(body: str) -> Checkpoint:
    """Parse a checkpoint note text strictly; extension lines are allowed and ignored."""
    _check_text(body, "checkpoint")
    lines = body[:-1].split("\n")
    if len(lines) < 3 or not all(lines):
        raise CheckpointError("checkpoint needs at least three lines, none of them empty")
    origin, size_line, root_line = lines[:3]
    if not _TREE_SIZE.fullmatch(size_line) or int(size_line) > MAX_TREE_SIZE:
        raise CheckpointError(f"invalid tree size {size_line!r}")
    root = _b64decode(root_line, "root hash")
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"root hash has {len(root)} bytes, want {HASH_SIZE}")
    return Checkpoint(origin=origin, size=int(size_line), root=root)


def note_key_hash(name: str, public_key: bytes) -> bytes:
    """C2SP signed-note Ed25519 key ID: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    _check_name(name)
    if len(public_key) != ED25519_KEY_SIZE:
        raise CheckpointError(f"Ed25519 public key has {len(public_key)} bytes, want 32")
    return hashlib.sha256(name.encode() + b"\n" + ED25519_SIGNATURE_TYPE + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The Go note verifier-key string, so standard tools can check our checkpoints."""
    key_hash = note_key_hash(name, public_key).hex()
    encoded = base64.b64encode(ED25519_SIGNATURE_TYPE + public_key).decode()
    return f"{name}+{key_hash}+{encoded}"


def sign_note(body: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign `body` as a C2SP signed-note with one Ed25519 signature line."""
    _check_text(body, "note text")
    key_hash = note_key_hash(name, private_key.public_key().public_bytes_raw())
    signature = private_key.sign(body.encode())
    encoded = base64.b64encode(key_hash + signature).decode()
    return f"{body}\n{SIGNATURE_PREFIX}{name} {encoded}\n"


def _signature_lines(block: str) -> list[tuple[str, bytes]]:
    """Parse the signature block into (key name, key ID || signature) pairs."""
    if not block:
        raise CheckpointError("note has no signature lines")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"note has more than {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(f"malformed signature line {line!r}")
        name, sep, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not sep:
            raise CheckpointError(f"malformed signature line {line!r}")
        _check_name(name)
        signature = _b64decode(encoded, f"signature of {name}")
        if len(signature) < 5:
            raise CheckpointError(f"signature of {name} is too short")
        signatures.append((name, signature))
    return signatures


def open_note(note: str, name: str, public_key: bytes) -> str:
    """Return the note text if the key `name`/`public_key` validly signed it.

    Signatures by other keys (cosigners, witnesses, rotated keys) are ignored,
    as C2SP signed-note requires; a failing signature by this key rejects the note.
    """
    key_hash = note_key_hash(name, public_key)
    try:
        key = Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as e:
        raise CheckpointError("invalid Ed25519 public key") from e
    _check_text(note, "signed note")
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("signed note has no blank line before its signatures")
    body = note[: split + 1]
    verified = False
    for signer, signature in _signature_lines(note[split + 2 :]):
        if signer != name or signature[:4] != key_hash:
            continue
        try:
            key.verify(signature[4:], body.encode())
        except InvalidSignature as e:
            raise CheckpointError(f"bad signature by {name}") from e
        verified = True
    if not verified:
        raise CheckpointError(f"no signature by {name} with key ID {key_hash.hex()}")
    return body


def sign_checkpoint(
    origin: str, size: int, root: bytes, name: str, private_key: Ed25519PrivateKey
) -> str:
    """The signed checkpoint note for the tree of `size` leaves with `root`."""
    return sign_note(checkpoint_body(origin, size, root), name, private_key)


def verify_checkpoint(note: str, name: str, public_key: bytes) -> Checkpoint:
    """Open a signed checkpoint note and parse its body; raise CheckpointError if either fails."""
    return parse_checkpoint(open_note(note, name, public_key))
