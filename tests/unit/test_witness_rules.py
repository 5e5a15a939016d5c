"""The tlog-witness add-checkpoint rules (domain.witness), against an independent tree."""

import base64
import contextlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from domain import merkle
from domain.checkpoint import Checkpoint, parse_vkey, sign_checkpoint, verifier_key
from domain.witness import (
    AddCheckpoint,
    BadRequest,
    Inconsistent,
    OldSizeMismatch,
    UnknownLog,
    UnsignedByLog,
    WitnessRefusal,
    judge,
    parse_add_checkpoint,
)

ORIGIN = "street.example/log"
KEY = Ed25519PrivateKey.generate()
LOGS = {ORIGIN: parse_vkey(verifier_key(ORIGIN, KEY.public_key().public_bytes_raw()))}
LEAVES = [merkle.leaf_hash(bytes([i])) for i in range(20)]
OTHER = [merkle.leaf_hash(b"fork" + bytes([i])) for i in range(20)]


def head(size: int, leaves: list[bytes] = LEAVES) -> Checkpoint:
    return Checkpoint(ORIGIN, size, merkle.mth(leaves[:size]))


def note(cp: Checkpoint, key: Ed25519PrivateKey = KEY) -> str:
    return sign_checkpoint(cp.origin, cp.size, cp.root, ORIGIN, key)


def proof(old: int, new: int, leaves: list[bytes] = LEAVES) -> list[bytes]:
    """Consistency proof computed from the leaves by plain recursion (RFC 9162 §2.1.4.1)."""

    def subproof(m: int, d: list[bytes], complete: bool) -> list[bytes]:
        n = len(d)
        if m == n:
            return [] if complete else [merkle.mth(d)]
        k = 1 << ((n - 1).bit_length() - 1)
        if m <= k:
            return [*subproof(m, d[:k], complete), merkle.mth(d[k:])]
        return [*subproof(m - k, d[k:], False), merkle.mth(d[:k])]

    return subproof(old, leaves[:new], True)


def body(old: int, hashes: list[bytes], text: str) -> bytes:
    lines = "".join(base64.b64encode(h).decode() + "\n" for h in hashes)
    return f"old {old}\n{lines}\n{text}".encode()


def test_first_checkpoint_then_a_consistent_one() -> None:
    first = judge(AddCheckpoint(0, [], note(head(5))), LOGS, None)
    assert first == head(5)
    assert judge(AddCheckpoint(5, proof(5, 13), note(head(13))), LOGS, first) == head(13)
    assert judge(AddCheckpoint(13, [], note(head(13))), LOGS, head(13)) == head(13)


def test_a_fork_is_refused_with_422() -> None:
    forked = head(13, LEAVES[:5] + OTHER[5:])
    with pytest.raises(Inconsistent):
        judge(AddCheckpoint(8, proof(8, 13), note(forked)), LOGS, head(8))
    with pytest.raises(Inconsistent):  # the fork's own honest proof
        judge(AddCheckpoint(8, proof(8, 13, LEAVES[:5] + OTHER[5:]), note(forked)), LOGS, head(8))
    with pytest.raises(Inconsistent):  # same size, another root
        judge(AddCheckpoint(8, [], note(head(8, OTHER))), LOGS, head(8))


def test_wrong_old_size_answers_the_witness_size() -> None:
    with pytest.raises(OldSizeMismatch) as caught:
        judge(AddCheckpoint(0, [], note(head(13))), LOGS, head(8))
    assert caught.value.size == 8
    with pytest.raises(OldSizeMismatch) as caught:
        judge(AddCheckpoint(3, proof(3, 13), note(head(13))), LOGS, None)
    assert caught.value.size == 0


def test_a_rollback_is_refused() -> None:
    with pytest.raises(BadRequest):  # old beyond the checkpoint
        judge(AddCheckpoint(13, [], note(head(8))), LOGS, head(13))
    with pytest.raises(OldSizeMismatch):  # honest old size, smaller tree
        judge(AddCheckpoint(5, proof(5, 8), note(head(8))), LOGS, head(13))


def test_signatures_and_origins() -> None:
    with pytest.raises(UnsignedByLog):
        judge(AddCheckpoint(0, [], note(head(5), Ed25519PrivateKey.generate())), LOGS, None)
    stranger = sign_checkpoint("other.example/log", 5, head(5).root, "other.example/log", KEY)
    with pytest.raises(UnknownLog):
        judge(AddCheckpoint(0, [], stranger), LOGS, None)


def test_proofs_from_zero_and_empty_trees() -> None:
    with pytest.raises(Inconsistent):
        judge(AddCheckpoint(0, proof(3, 5), note(head(5))), LOGS, None)
    assert judge(AddCheckpoint(0, [], note(head(0))), LOGS, None).size == 0
    with pytest.raises(Inconsistent):
        judge(AddCheckpoint(0, [], note(Checkpoint(ORIGIN, 0, LEAVES[0]))), LOGS, None)


def test_request_parsing() -> None:
    parsed = parse_add_checkpoint(body(5, proof(5, 13), note(head(13))))
    assert parsed == AddCheckpoint(5, proof(5, 13), note(head(13)))
    for bad in (
        b"old 05\n\n" + note(head(1)).encode(),
        b"old -1\n\n" + note(head(1)).encode(),
        b"new 1\n\n" + note(head(1)).encode(),
        b"old 1\n" + note(head(1)).encode(),
        b"old 1\nAAAA\n\n" + note(head(1)).encode(),
        b"old 1\n\xff\n\n",
        body(1, [LEAVES[0]] * 64, note(head(1))),
    ):
        with pytest.raises(BadRequest):
            parse_add_checkpoint(bad)


@given(st.binary(max_size=300))
def test_hostile_bodies_raise_only_refusals(raw: bytes) -> None:
    with contextlib.suppress(WitnessRefusal):
        judge(parse_add_checkpoint(raw), LOGS, head(4))


@given(st.integers(1, 20), st.integers(1, 20))
def test_consistent_sizes_always_cosigned(a: int, b: int) -> None:
    old, new = sorted((a, b))
    assert judge(AddCheckpoint(old, proof(old, new), note(head(new))), LOGS, head(old)) == head(new)
