"""Node-store planning agrees with the RFC 9162 definition and with the verifiers.

A wrong tree size is tested as double the size: that always changes the proof
length. A size whose proof has the same shape (say 3 and 4 for leaf 0) can
verify against the same root, because RFC 9162 proofs bind the size only
through the signed checkpoint.
"""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.merkle import (
    EMPTY_ROOT,
    NodeId,
    ProofError,
    RootAccumulator,
    append,
    append_siblings,
    consistency_plan,
    fold,
    inclusion_plan,
    leaf_hash,
    mth,
    node_hash,
    perfect_ranges,
    plan_nodes,
    resolve,
    root_from_inclusion,
    root_plan,
    verify_consistency,
    verify_inclusion,
)


def rfc_mth(leaves: list[bytes]) -> bytes:
    """MTH exactly as RFC 9162 §2.1.1 writes it, recursively."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(rfc_mth(leaves[:k]), rfc_mth(leaves[k:]))


def build_store(leaves: list[bytes]) -> dict[NodeId, bytes]:
    """Node storage as the ledger keeps it: leaves plus every completed perfect node."""
    nodes: dict[NodeId, bytes] = {}
    for index, leaf in enumerate(leaves):
        siblings = [nodes[node] for node in append_siblings(index)]
        nodes[(0, index)] = leaf
        nodes.update(append(index, leaf, siblings))
    return nodes


def store_root(nodes: dict[NodeId, bytes], size: int) -> bytes:
    return fold([nodes[node] for node in root_plan(size)])


def flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]


@st.composite
def trees(draw: st.DrawFn) -> list[bytes]:
    count = draw(st.integers(min_value=1, max_value=300))
    seed = draw(st.binary(max_size=8))
    return [leaf_hash(seed + i.to_bytes(4, "big")) for i in range(count)]


def test_known_answers() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()
    assert append_siblings(0) == []
    assert append_siblings(1) == [(0, 0)]
    assert append_siblings(2) == []
    assert append_siblings(3) == [(0, 2), (1, 0)]
    assert perfect_ranges(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert perfect_ranges(4, 7) == [(1, 2), (0, 6)]
    assert inclusion_plan(0, 1) == []
    assert inclusion_plan(2, 7) == [[(0, 3)], [(1, 0)], [(1, 2), (0, 6)]]
    assert consistency_plan(3, 7) == [[(0, 2)], [(0, 3)], [(1, 0)], [(1, 2), (0, 6)]]
    assert consistency_plan(4, 7) == [[(1, 2), (0, 6)]]
    assert consistency_plan(5, 5) == []


def test_plan_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError):
        inclusion_plan(3, 3)
    with pytest.raises(ValueError):
        consistency_plan(0, 3)
    with pytest.raises(ValueError):
        consistency_plan(4, 3)
    with pytest.raises(ValueError):
        append(3, leaf_hash(b"x"), [])


@settings(max_examples=150, deadline=None)
@given(leaves=trees(), data=st.data())
def test_inclusion_proofs(leaves: list[bytes], data: st.DataObject) -> None:
    nodes = build_store(leaves)
    size = data.draw(st.integers(min_value=1, max_value=len(leaves)), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    root = store_root(nodes, size)
    assert root == mth(leaves[:size]) == rfc_mth(leaves[:size])

    plan = inclusion_plan(index, size)
    proof = resolve(plan, {node: nodes[node] for node in plan_nodes(plan)})
    leaf = leaves[index]
    verify_inclusion(leaf, index, size, proof, root)
    assert root_from_inclusion(leaf, index, size, proof) == root

    with pytest.raises(ProofError):
        verify_inclusion(flip(leaf), index, size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index ^ 1, size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, 2 * size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, size, proof, flip(root))
    if proof:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, proof[:-1], root)
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, [flip(proof[0]), *proof[1:]], root)


@settings(max_examples=150, deadline=None)
@given(leaves=trees(), data=st.data())
def test_consistency_proofs(leaves: list[bytes], data: st.DataObject) -> None:
    nodes = build_store(leaves)
    new_size = data.draw(st.integers(min_value=1, max_value=len(leaves)), label="new_size")
    old_size = data.draw(st.integers(min_value=1, max_value=new_size), label="old_size")
    old_root = store_root(nodes, old_size)
    new_root = store_root(nodes, new_size)
    assert old_root == rfc_mth(leaves[:old_size])
    assert new_root == rfc_mth(leaves[:new_size])

    plan = consistency_plan(old_size, new_size)
    proof = resolve(plan, {node: nodes[node] for node in plan_nodes(plan)})
    verify_consistency(old_size, new_size, old_root, new_root, proof)

    with pytest.raises(ProofError):
        verify_consistency(old_size, new_size, flip(old_root), new_root, proof)
    with pytest.raises(ProofError):
        verify_consistency(old_size, new_size, old_root, flip(new_root), proof)
    with pytest.raises(ProofError):
        verify_consistency(old_size, 2 * new_size, old_root, new_root, proof)
    if proof:
        with pytest.raises(ProofError):
            verify_consistency(old_size, new_size, old_root, new_root, [flip(proof[0]), *proof[1:]])


@settings(max_examples=100, deadline=None)
@given(leaves=trees())
def test_root_accumulator_matches_rfc(leaves: list[bytes]) -> None:
    acc = RootAccumulator()
    assert acc.root() == EMPTY_ROOT
    for count, leaf in enumerate(leaves, start=1):
        acc.add(leaf)
        assert acc.size == count
    assert acc.root() == mth(leaves) == rfc_mth(leaves)
