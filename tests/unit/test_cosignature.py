"""C2SP signed-note vkeys and several signature lines, and tlog-cosignature cosignature/v1.

The cosignature checks use a verifier written here straight from the C2SP text, not the
product's own, so a shared misreading of the spec cannot pass on both sides.
"""

import base64
import contextlib
import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from domain.checkpoint import (
    CheckpointError,
    NoteSignature,
    checkpoint_body,
    open_note,
    parse_signature_lines,
    parse_vkey,
    sign_checkpoint,
    split_note,
    verifier_key,
    with_signatures,
)
from domain.cosignature import (
    cosign,
    cosignatures,
    cosigner_vkey,
    parse_cosigner_vkey,
)
from tests.witnesses import spec_verify_cosignature

ORIGIN = "district.example/street-7"
ROOT = hashlib.sha256(b"root").digest()
WITNESS = "district.example/witness"

# c2sp.org/signed-note, "Verifier keys" example.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n— example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


@pytest.fixture(scope="module")
def log_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def witness_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _cosigned(log_key: Ed25519PrivateKey, witness_key: Ed25519PrivateKey, t: int) -> str:
    note = sign_checkpoint(ORIGIN, 9, ROOT, ORIGIN, log_key)
    body, _ = split_note(note)
    return with_signatures(note, [cosign(body, WITNESS, witness_key, t)])


def test_spec_vkey_example_parses_and_verifies_spec_note() -> None:
    vkey = parse_vkey(SPEC_VKEY)
    assert vkey.name == "example.com/foo" and vkey.key_hash.hex() == "530d903a"
    assert str(vkey) == SPEC_VKEY
    assert open_note(SPEC_NOTE, vkey.name, vkey.public_key) == "This is an example message.\n"


def test_cosignature_verified_by_code_written_from_the_spec(
    log_key: Ed25519PrivateKey, witness_key: Ed25519PrivateKey
) -> None:
    note = _cosigned(log_key, witness_key, 1_679_315_147)
    public = witness_key.public_key().public_bytes_raw()
    assert spec_verify_cosignature(note, cosigner_vkey(WITNESS, public)) == 1_679_315_147
    # The log's own signature still verifies: a cosignature is one more line.
    open_note(note, ORIGIN, log_key.public_key().public_bytes_raw())


def test_spec_verifier_rejects_a_cosignature_over_another_body(
    log_key: Ed25519PrivateKey, witness_key: Ed25519PrivateKey
) -> None:
    note = _cosigned(log_key, witness_key, 1_700_000_000)
    forged = note.replace(checkpoint_body(ORIGIN, 9, ROOT), checkpoint_body(ORIGIN, 10, ROOT))
    vkey = cosigner_vkey(WITNESS, witness_key.public_key().public_bytes_raw())
    with pytest.raises(InvalidSignature):
        spec_verify_cosignature(forged, vkey)


def test_cosigner_vkey_uses_type_4(witness_key: Ed25519PrivateKey) -> None:
    public = witness_key.public_key().public_bytes_raw()
    vkey = cosigner_vkey(WITNESS, public)
    name, key_id, encoded = vkey.split("+", 2)
    assert name == WITNESS
    assert key_id == hashlib.sha256(WITNESS.encode() + b"\n\x04" + public).digest()[:4].hex()
    assert base64.b64decode(encoded) == b"\x04" + public
    assert parse_cosigner_vkey(vkey).public_key == public
    with pytest.raises(CheckpointError, match="signature type"):
        parse_vkey(vkey)  # a cosigner key is no note-signing key


@pytest.mark.parametrize(
    "mangle",
    [
        lambda v: v.replace("+", "-", 1),
        lambda v: v.rsplit("+", 1)[0],
        lambda v: v.split("+", 2)[0] + "+00000000+" + v.split("+", 2)[2],  # key ID of no key
        lambda v: "other.example+" + v.split("+", 1)[1],  # name of another key
        lambda v: v + "=",
        lambda v: v[:-4],
        lambda v: v.split("+", 2)[0] + "+" + v.split("+", 2)[1].upper() + "+" + v.split("+", 2)[2],
    ],
)
def test_malformed_vkeys_refused(log_key: Ed25519PrivateKey, mangle) -> None:
    vkey = verifier_key(ORIGIN, log_key.public_key().public_bytes_raw())
    with pytest.raises(CheckpointError):
        parse_vkey(mangle(vkey))


def test_product_counts_only_valid_known_cosignatures(
    log_key: Ed25519PrivateKey, witness_key: Ed25519PrivateKey
) -> None:
    note = _cosigned(log_key, witness_key, 1_700_000_000)
    witness = parse_cosigner_vkey(
        cosigner_vkey(WITNESS, witness_key.public_key().public_bytes_raw())
    )
    stranger = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    same_name = parse_cosigner_vkey(cosigner_vkey(WITNESS, stranger))
    assert [c.timestamp for c in cosignatures(note, [witness]).values()] == [1_700_000_000]
    assert cosignatures(note, [same_name]) == {}  # same name, another key ID: ignored


def test_a_known_cosignature_that_fails_rejects_the_note(
    log_key: Ed25519PrivateKey, witness_key: Ed25519PrivateKey
) -> None:
    note = _cosigned(log_key, witness_key, 1_700_000_000)
    body, signatures = split_note(note)
    bad = NoteSignature(signatures[1].name, signatures[1].key_hash, b"\0" * 72)
    witness = parse_cosigner_vkey(
        cosigner_vkey(WITNESS, witness_key.public_key().public_bytes_raw())
    )
    with pytest.raises(CheckpointError, match="bad cosignature"):
        cosignatures(body + "\n" + signatures[0].line() + bad.line(), [witness])
    # A timestamp changed after signing is caught too.
    raw = bytearray(signatures[1].signature)
    raw[7] ^= 1
    moved = NoteSignature(signatures[1].name, signatures[1].key_hash, bytes(raw))
    with pytest.raises(CheckpointError):
        cosignatures(body + "\n" + signatures[0].line() + moved.line(), [witness])


def test_zero_and_huge_timestamps_refused(witness_key: Ed25519PrivateKey) -> None:
    body = checkpoint_body(ORIGIN, 1, ROOT)
    for t in (0, -1, 2**63):
        with pytest.raises(CheckpointError):
            cosign(body, WITNESS, witness_key, t)
    assert (
        spec_verify_cosignature(
            with_signatures(
                sign_checkpoint(ORIGIN, 1, ROOT, ORIGIN, Ed25519PrivateKey.generate()),
                [cosign(body, WITNESS, witness_key, 2**63 - 1)],
            ),
            cosigner_vkey(WITNESS, witness_key.public_key().public_bytes_raw()),
        )
        == 2**63 - 1
    )


def test_several_signature_lines_round_trip(log_key: Ed25519PrivateKey) -> None:
    note = sign_checkpoint(ORIGIN, 9, ROOT, ORIGIN, log_key)
    body, _ = split_note(note)
    keys = [Ed25519PrivateKey.generate() for _ in range(16)]
    lines = [cosign(body, f"w{i}.example", k, 1_700_000_000 + i) for i, k in enumerate(keys)]
    cosigned = with_signatures(note, lines)
    assert with_signatures(cosigned, lines) == cosigned  # each key only once
    vkeys = [
        parse_cosigner_vkey(cosigner_vkey(f"w{i}.example", k.public_key().public_bytes_raw()))
        for i, k in enumerate(keys)
    ]
    assert len(cosignatures(cosigned, vkeys)) == 16
    block = "".join(s.line() for s in lines)
    assert parse_signature_lines(block) == lines


@given(st.text(min_size=1, max_size=40))
def test_hostile_signature_blocks_raise_only_checkpoint_error(block: str) -> None:
    with contextlib.suppress(CheckpointError):
        parse_signature_lines(block)
