"""Proofs served by the store verify against its roots; wrong inputs make them fail."""

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import checkpoint, merkle
from domain.entries import Entry
from domain.registry import KeyBinding
from tests.support import Harness


def append(harness: Harness, count: int) -> None:
    """One transaction holding `count` events."""
    harness.system.app.record(
        *(
            KeyBinding(id=uuid.uuid4(), key_id=uuid.uuid4().hex, holder="test", holder_id="-")
            for _ in range(count)
        )
    )


def reference_leaves(harness: Harness) -> list[bytes]:
    rows = harness.system.app.ledger.ledger_entries(0, harness.size)
    return [
        merkle.leaf_hash(Entry(r["stream"], r["version"], r["topic"], r["state"]).leaf_input())
        for r in rows
    ]


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(st.integers(1, 9), min_size=1, max_size=6),
    picks=st.tuples(st.integers(0, 2**32), st.integers(0, 2**32), st.integers(0, 2**32)),
)
def test_store_proofs_verify_and_reject_wrong_inputs(harness: Harness, batches, picks) -> None:
    """The store keeps growing across examples, so draws pick positions relatively."""
    ledger = harness.system.ledger
    sizes = [harness.size]
    for count in batches:
        append(harness, count)
        sizes.append(harness.size)
    leaves = reference_leaves(harness)
    size = sizes[picks[0] % len(sizes)]
    index = picks[1] % size
    root = ledger.root(size)
    assert root == merkle.mth(leaves[:size])
    proof = ledger.inclusion_proof(index, size)
    merkle.verify_inclusion(leaves[index], index, size, proof, root)
    wrong_leaf = leaves[(index + 1) % size] if size > 1 else merkle.leaf_hash(b"x")
    if wrong_leaf != leaves[index]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(wrong_leaf, index, size, proof, root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(leaves[index], index, size, proof, merkle.leaf_hash(b"other"))
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(leaves[index], index, size * 2, proof, root)
    if size > 1:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(leaves[index], (index + 1) % size, size, proof, root)
    old = 1 + picks[2] % size
    consistency = ledger.consistency_proof(old, size)
    merkle.verify_consistency(old, size, ledger.root(old), root, consistency)
    if old < size:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(old, size, merkle.leaf_hash(b"x"), root, consistency)
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(
                old, size, ledger.root(old), merkle.leaf_hash(b"x"), consistency
            )


def test_checkpoint_is_signed_by_the_log_key(harness: Harness) -> None:
    append(harness, 5)
    stored = harness.system.ledger.checkpoint_now()
    signed = checkpoint.verify_checkpoint(
        stored.note, harness.system.settings.log_origin, harness.system.ledger.log_public_key
    )
    assert (signed.size, signed.root) == (harness.size, harness.system.ledger.root(harness.size))
