"""C2SP tlog-checkpoint and signed-note: round trips, forgeries, malformed input."""

import base64
import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.checkpoint import (
    Checkpoint,
    CheckpointError,
    checkpoint_body,
    note_key_hash,
    open_note,
    parse_checkpoint,
    sign_checkpoint,
    sign_note,
    verifier_key,
    verify_checkpoint,
)

ORIGIN = "appraisal.example/ledger"
ROOT = hashlib.sha256(b"some root").digest()
ROOT_B64 = base64.b64encode(ROOT).decode()

# golang.org/x/mod/sumdb/note reference example (note.go docs and note_test.go).
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def note(key: Ed25519PrivateKey) -> str:
    return sign_checkpoint(ORIGIN, 42, ROOT, ORIGIN, key)


def test_body_format() -> None:
    assert checkpoint_body(ORIGIN, 42, ROOT) == f"{ORIGIN}\n42\n{ROOT_B64}\n"
    assert checkpoint_body(ORIGIN, 0, ROOT) == f"{ORIGIN}\n0\n{ROOT_B64}\n"


def test_round_trip(key: Ed25519PrivateKey, note: str) -> None:
    assert note.startswith(checkpoint_body(ORIGIN, 42, ROOT) + "\n— " + ORIGIN + " ")
    assert note.endswith("\n")
    assert verify_checkpoint(note, ORIGIN, public_bytes(key)) == Checkpoint(ORIGIN, 42, ROOT)


def test_go_reference_note() -> None:
    _, _, name, key_id, encoded = GO_SIGNER_KEY.split("+", 4)
    seed = base64.b64decode(encoded)[1:]
    signer = Ed25519PrivateKey.from_private_bytes(seed)
    public_key = public_bytes(signer)
    assert verifier_key(name, public_key) == GO_VERIFIER_KEY
    assert note_key_hash(name, public_key).hex() == key_id
    assert sign_note(GO_TEXT, name, signer) == GO_NOTE
    assert open_note(GO_NOTE, name, public_key) == GO_TEXT


def test_key_hash_follows_spec(key: Ed25519PrivateKey) -> None:
    public_key = public_bytes(key)
    spec = hashlib.sha256(ORIGIN.encode() + b"\x0a" + b"\x01" + public_key).digest()[:4]
    assert note_key_hash(ORIGIN, public_key) == spec
    name, key_id, encoded = verifier_key(ORIGIN, public_key).split("+", 2)
    assert (name, key_id) == (ORIGIN, spec.hex())
    assert base64.b64decode(encoded) == b"\x01" + public_key


def test_tampered_body_rejected(key: Ed25519PrivateKey, note: str) -> None:
    tampered = note.replace("\n42\n", "\n43\n")
    with pytest.raises(CheckpointError, match="bad signature"):
        open_note(tampered, ORIGIN, public_bytes(key))


def test_wrong_key_rejected(note: str) -> None:
    other = public_bytes(Ed25519PrivateKey.generate())
    with pytest.raises(CheckpointError, match="no signature"):
        open_note(note, ORIGIN, other)


def test_wrong_name_rejected(key: Ed25519PrivateKey, note: str) -> None:
    with pytest.raises(CheckpointError, match="no signature"):
        open_note(note, "other.example/log", public_bytes(key))


def test_same_name_other_key_ignored(key: Ed25519PrivateKey) -> None:
    impostor = sign_checkpoint(ORIGIN, 42, ROOT, ORIGIN, Ed25519PrivateKey.generate())
    with pytest.raises(CheckpointError, match="no signature"):
        verify_checkpoint(impostor, ORIGIN, public_bytes(key))


def test_forged_signature_with_matching_key_id_rejected(key: Ed25519PrivateKey) -> None:
    body = checkpoint_body(ORIGIN, 42, ROOT)
    forged_sig = note_key_hash(ORIGIN, public_bytes(key)) + bytes(64)
    forged = f"{body}\n— {ORIGIN} {base64.b64encode(forged_sig).decode()}\n"
    with pytest.raises(CheckpointError, match="bad signature"):
        open_note(forged, ORIGIN, public_bytes(key))


def test_unknown_signature_lines_tolerated(key: Ed25519PrivateKey, note: str) -> None:
    witness = sign_note(checkpoint_body(ORIGIN, 42, ROOT), "witness.example/w1", key)
    witness_line = witness.splitlines(keepends=True)[-1]
    opaque_line = f"— other.example/cosigner {base64.b64encode(bytes(72)).decode()}\n"
    first_sig = note.index("— ")
    cosigned_after = note + witness_line + opaque_line
    cosigned_before = note[:first_sig] + opaque_line + witness_line + note[first_sig:]
    for cosigned in (cosigned_after, cosigned_before):
        assert verify_checkpoint(cosigned, ORIGIN, public_bytes(key)).size == 42


def test_extension_lines_ignored(key: Ed25519PrivateKey) -> None:
    body = checkpoint_body(ORIGIN, 7, ROOT) + "extension data\n"
    note = sign_note(body, ORIGIN, key)
    assert verify_checkpoint(note, ORIGIN, public_bytes(key)) == Checkpoint(ORIGIN, 7, ROOT)


@pytest.mark.parametrize(
    "body",
    [
        "",
        f"{ORIGIN}\n42\n{ROOT_B64}",
        f"{ORIGIN}\n42\n",
        f"\n42\n{ROOT_B64}\n",
        f"{ORIGIN}\n042\n{ROOT_B64}\n",
        f"{ORIGIN}\n-1\n{ROOT_B64}\n",
        f"{ORIGIN}\n+1\n{ROOT_B64}\n",
        f"{ORIGIN}\n 42\n{ROOT_B64}\n",
        f"{ORIGIN}\n18446744073709551616\n{ROOT_B64}\n",
        f"{ORIGIN}\n٤٢\n{ROOT_B64}\n",
        f"{ORIGIN}\n42\n{ROOT_B64.rstrip('=')}\n",
        f"{ORIGIN}\n42\n{base64.b64encode(ROOT[:31]).decode()}\n",
        f"{ORIGIN}\n42\n{base64.b64encode(ROOT + b'x').decode()}\n",
        f"{ORIGIN}\n42\n{ROOT_B64[:-2]}1=\n",
        f"{ORIGIN}\n42\n{ROOT_B64}\n\nextension\n",
        f"{ORIGIN}\r\n42\n{ROOT_B64}\n",
    ],
)
def test_malformed_checkpoint_rejected(body: str) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint(body)


def test_parse_accepts_largest_size() -> None:
    assert parse_checkpoint(f"{ORIGIN}\n18446744073709551615\n{ROOT_B64}\n").size == 2**64 - 1


@pytest.mark.parametrize(
    "mangle",
    [
        lambda n: n.rstrip("\n"),
        lambda n: n.replace("\n\n", "\n"),
        lambda n: n.replace("— ", "- "),
        lambda n: n.replace("— ", "—"),
        lambda n: n + "\n",
        lambda n: n + "not a signature line\n",
        lambda n: n + "— other.example/x not*base64\n",
        lambda n: n + "— other.example/x AAAA\n",
        lambda n: n + "— \n",
        lambda n: n + "— a+b AAAAAAAA\n",
        lambda n: n.replace("\n\n", "\n\t\n"),
        lambda n: n[: n.index("\n\n") + 2],
        lambda n: n + "".join(f"— w{i}.example {'A' * 96}\n" for i in range(100)),
    ],
)
def test_malformed_note_rejected(
    key: Ed25519PrivateKey, note: str, mangle: Callable[[str], str]
) -> None:
    with pytest.raises(CheckpointError):
        open_note(mangle(note), ORIGIN, public_bytes(key))


def test_invalid_inputs_rejected(key: Ed25519PrivateKey) -> None:
    with pytest.raises(CheckpointError):
        checkpoint_body("two\nlines", 1, ROOT)
    with pytest.raises(CheckpointError):
        checkpoint_body(ORIGIN, -1, ROOT)
    with pytest.raises(CheckpointError):
        checkpoint_body(ORIGIN, 1, ROOT[:16])
    with pytest.raises(CheckpointError):
        sign_note("no final newline", ORIGIN, key)
    with pytest.raises(CheckpointError):
        sign_note("text\n", "bad name", key)
    with pytest.raises(CheckpointError):
        note_key_hash(ORIGIN, b"short")
