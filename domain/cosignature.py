"""C2SP tlog-cosignature `cosignature/v1` (Ed25519): a witness's timestamped signature
over a checkpoint it checked for consistency.

Why a module of its own: the witness signs with it, the log stores what it gets back,
and auditors and voters count cosignatures with it, so all of them share one reading
of the format. Pure: no I/O, no clock (the timestamp is an argument).
"""

import base64
import binascii
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from domain.checkpoint import (
    CheckpointError,
    NoteSignature,
    VerifierKey,
    key_hash,
    parse_vkey,
    split_note,
    verifier_key,
)

COSIGNATURE_TYPE = b"\x04"
HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1
SIGNER_KEY_PREFIX = "PRIVATE+KEY+"
_TIMESTAMPED = struct.Struct(">Q64s")  # u64 big-endian timestamp, 64-byte Ed25519 signature


@dataclass(frozen=True)
class Cosignature:
    """A verified cosignature: which witness, and when it says it signed."""

    witness: VerifierKey
    timestamp: int


def cosigner_vkey(name: str, public_key: bytes) -> str:
    """The witness's vkey: signature type 0x04, key ID over that type."""
    return verifier_key(name, public_key, COSIGNATURE_TYPE)


def parse_cosigner_vkey(text: str) -> VerifierKey:
    return parse_vkey(text, COSIGNATURE_TYPE)


def signer_key(name: str, private_key: Ed25519PrivateKey) -> str:
    """The witness's secret key as one line, in the Go note package's signer-key layout
    (`PRIVATE+KEY+name+hex(key ID)+base64(type || seed)`), so the file names its key."""
    public_key = private_key.public_key().public_bytes_raw()
    seed = private_key.private_bytes_raw()
    encoded = base64.b64encode(COSIGNATURE_TYPE + seed).decode()
    return (
        f"{SIGNER_KEY_PREFIX}{name}+{key_hash(name, COSIGNATURE_TYPE, public_key).hex()}+{encoded}"
    )


def parse_signer_key(text: str) -> tuple[str, Ed25519PrivateKey]:
    """The name and private key of a `signer_key` line; its key ID must match its key."""
    if not text.startswith(SIGNER_KEY_PREFIX):
        raise CheckpointError("not a witness signer key (PRIVATE+KEY+name+id+key)")
    name, _, rest = text[len(SIGNER_KEY_PREFIX) :].partition("+")
    hash_hex, _, encoded = rest.partition("+")
    try:
        material = base64.b64decode(encoded, validate=True)
        key = Ed25519PrivateKey.from_private_bytes(material[1:])
    except (binascii.Error, ValueError):
        raise CheckpointError("the witness signer key holds no Ed25519 seed") from None
    expected = key_hash(name, COSIGNATURE_TYPE, key.public_key().public_bytes_raw())
    if material[:1] != COSIGNATURE_TYPE or hash_hex != expected.hex():
        raise CheckpointError("the witness signer key's type or key ID does not match its key")
    return name, key


def signed_message(body: str, timestamp: int) -> bytes:
    """The bytes an Ed25519 cosigner signs: header line, time line, then the note text."""
    return f"{HEADER}time {timestamp}\n{body}".encode()


def cosign(body: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> NoteSignature:
    """The cosignature/v1 signature line of witness `name` on the checkpoint text `body`."""
    if not 0 < timestamp <= MAX_TIMESTAMP:
        raise CheckpointError(f"cosignature timestamp {timestamp} is out of range")
    public_key = private_key.public_key().public_bytes_raw()
    signature = private_key.sign(signed_message(body, timestamp))
    return NoteSignature(
        name, key_hash(name, COSIGNATURE_TYPE, public_key), _TIMESTAMPED.pack(timestamp, signature)
    )


def verify_cosignature(body: str, signature: NoteSignature, witness: VerifierKey) -> Cosignature:
    """Check one signature line of `witness` (matched by name and key ID) over `body`."""
    if len(signature.signature) != _TIMESTAMPED.size:
        raise CheckpointError(f"cosignature of {witness.name} has the wrong length")
    timestamp, raw = _TIMESTAMPED.unpack(signature.signature)
    if timestamp > MAX_TIMESTAMP:
        raise CheckpointError(f"cosignature of {witness.name} has an out-of-range timestamp")
    try:
        Ed25519PublicKey.from_public_bytes(witness.public_key).verify(
            raw, signed_message(body, timestamp)
        )
    except InvalidSignature:
        raise CheckpointError(f"bad cosignature by {witness.name}") from None
    return Cosignature(witness, timestamp)


def cosignatures(note: str, witnesses: Iterable[VerifierKey]) -> dict[str, Cosignature]:
    """The valid cosignatures on `note` by the given witnesses, by witness vkey.

    As C2SP signed-note requires, lines of unknown keys (a matching name with another
    key ID, or the reverse) are ignored, and a line that matches a known key but fails
    to verify rejects the whole note. The log's own signature is not checked here.
    """
    known: Mapping[tuple[str, bytes], VerifierKey] = {(w.name, w.key_hash): w for w in witnesses}
    body, signatures = split_note(note)
    found: dict[str, Cosignature] = {}
    for signature in signatures:
        witness = known.get((signature.name, signature.key_hash))
        if witness is not None:
            found[str(witness)] = verify_cosignature(body, signature, witness)
    return found
