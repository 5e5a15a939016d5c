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


def key_hash(name: str, signature_type: bytes, public_key: bytes) -> bytes:
    """C2SP signed-note key ID: SHA-256(name || 0x0A || signature type || key)[:4]."""
    _check_name(name)
    if len(public_key) != ED25519_KEY_SIZE:
        raise CheckpointError(f"Ed25519 public key has {len(public_key)} bytes, want 32")
    return hashlib.sha256(name.encode() + b"\n" + signature_type + public_key).digest()[:4]


def note_key_hash(name: str, public_key: bytes) -> bytes:
    """C2SP signed-note Ed25519 key ID: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    return key_hash(name, ED25519_SIGNATURE_TYPE, public_key)


@dataclass(frozen=True)
class VerifierKey:
    """A parsed C2SP vkey: who signs (name and key ID), with which algorithm and key."""

    name: str
    key_hash: bytes
    signature_type: bytes
    public_key: bytes

    def __str__(self) -> str:
        encoded = base64.b64encode(self.signature_type + self.public_key).decode()
        return f"{self.name}+{self.key_hash.hex()}+{encoded}"


def verifier_key(
    name: str, public_key: bytes, signature_type: bytes = ED25519_SIGNATURE_TYPE
) -> str:
    """The C2SP vkey string (`name+hex(key ID)+base64(type || key)`) that standard tools read."""
    return str(
        VerifierKey(name, key_hash(name, signature_type, public_key), signature_type, public_key)
    )


def parse_vkey(text: str, signature_type: bytes = ED25519_SIGNATURE_TYPE) -> VerifierKey:
    """A vkey of the given signature type, strictly: its key ID must be the one its name and
    key imply, so a vkey cannot name one key and carry another."""
    name, sep, rest = text.partition("+")
    hash_hex, sep2, encoded = rest.partition("+")
    if not (sep and sep2) or not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
        raise CheckpointError(f"{text!r} is not a verifier key (name+hex key ID+base64 key)")
    material = _b64decode(encoded, "verifier key")
    if material[:1] != signature_type:
        raise CheckpointError(
            f"verifier key {name!r} has signature type {material[:1].hex() or 'none'}, "
            f"want {signature_type.hex()}"
        )
    public_key = material[1:]
    try:
        Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as e:
        raise CheckpointError(f"verifier key {name!r} holds no valid Ed25519 key") from e
    expected = key_hash(name, signature_type, public_key)
    if expected.hex() != hash_hex:
        raise CheckpointError(
            f"verifier key {name!r} has key ID {hash_hex}, its key implies {expected.hex()}"
        )
    return VerifierKey(name, expected, signature_type, public_key)


def sign_note(body: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign `body` as a C2SP signed-note with one Ed25519 signature line."""
    _check_text(body, "note text")
    key_id = note_key_hash(name, private_key.public_key().public_bytes_raw())
    return f"{body}\n" + NoteSignature(name, key_id, private_key.sign(body.encode())).line()


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key name, the 4-byte key ID and the signature bytes after it."""

    name: str
    key_hash: bytes
    signature: bytes

    def line(self) -> str:
        encoded = base64.b64encode(self.key_hash + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {encoded}\n"


def _signature_lines(block: str) -> list[NoteSignature]:
    """Parse a block of newline-terminated signature lines."""
    if not block:
        raise CheckpointError("note has no signature lines")
    _check_text(block, "signature lines")
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
        signatures.append(NoteSignature(name, signature[:4], signature[4:]))
    return signatures


def split_note(note: str) -> tuple[str, list[NoteSignature]]:
    """A signed note's text (with its final newline) and its signature lines, unverified.

    The text ends at the note's last blank line, as C2SP signed-note says.
    """
    _check_text(note, "signed note")
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("signed note has no blank line before its signatures")
    return note[: split + 1], _signature_lines(note[split + 2 :])


def parse_signature_lines(block: str) -> list[NoteSignature]:
    """Signature lines on their own, as a witness answers them (C2SP tlog-witness)."""
    return _signature_lines(block)


def with_signatures(note: str, signatures: list[NoteSignature]) -> str:
    """The note with `signatures` added after its own, each key (name and ID) only once."""
    _, present = split_note(note)
    seen = {(s.name, s.key_hash) for s in present}
    added = [s for s in signatures if (s.name, s.key_hash) not in seen]
    return note + "".join(s.line() for s in added)


def open_note(note: str, name: str, public_key: bytes) -> str:
    """Return the note text if the key `name`/`public_key` validly signed it.

    Signatures by other keys (cosigners, witnesses, rotated keys) are ignored,
    as C2SP signed-note requires; a failing signature by this key rejects the note.
    """
    key_id = note_key_hash(name, public_key)
    try:
        key = Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as e:
        raise CheckpointError("invalid Ed25519 public key") from e
    body, signatures = split_note(note)
    verified = False
    for signature in signatures:
        if signature.name != name or signature.key_hash != key_id:
            continue
        try:
            key.verify(signature.signature, body.encode())
        except InvalidSignature as e:
            raise CheckpointError(f"bad signature by {name}") from e
        verified = True
    if not verified:
        raise CheckpointError(f"no signature by {name} with key ID {key_id.hex()}")
    return body


def sign_checkpoint(
    origin: str, size: int, root: bytes, name: str, private_key: Ed25519PrivateKey
) -> str:
    """The signed checkpoint note for the tree of `size` leaves with `root`."""
    return sign_note(checkpoint_body(origin, size, root), name, private_key)


def verify_checkpoint(note: str, name: str, public_key: bytes) -> Checkpoint:
    """Open a signed checkpoint note and parse its body; raise CheckpointError if either fails."""
    return parse_checkpoint(open_note(note, name, public_key))
