"""domain.anchors against an independent model: a trusted checkpoint of size m passes iff
the bundle's tree has at least m leaves and the same first m leaves."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from domain import merkle
from domain.anchors import AnchorBroken, Anchors, TrustedCheckpoint, witness_policy
from domain.checkpoint import Checkpoint, sign_checkpoint, split_note, with_signatures
from domain.cosignature import cosign, cosigner_vkey
from domain.tree_check import TreeRebuilder

ORIGIN = "street.example/log"
KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key().public_bytes_raw()
WITNESS = Ed25519PrivateKey.generate()
WITNESS_VKEY = cosigner_vkey("district.example/w", WITNESS.public_key().public_bytes_raw())


def leaves(tag: bytes, n: int) -> list[bytes]:
    return [merkle.leaf_hash(tag + i.to_bytes(4, "big")) for i in range(n)]


def note(tree: list[bytes], key: Ed25519PrivateKey = KEY) -> str:
    return sign_checkpoint(ORIGIN, len(tree), merkle.mth(tree), ORIGIN, key)


def cosigned(text: str) -> str:
    body, _ = split_note(text)
    return with_signatures(text, [cosign(body, "district.example/w", WITNESS, 1_700_000_000)])


def audit(bundle: list[bytes], anchors: Anchors, head_note: str | None = None) -> None:
    """What the Auditor does with its anchors while it rebuilds the bundle's tree."""
    head = Checkpoint(ORIGIN, len(bundle), merkle.mth(bundle))
    anchors.start(head_note or note(bundle), head, ORIGIN, PUBLIC)
    tree = merkle.RootAccumulator()
    for leaf in bundle:
        tree.add(leaf)
        anchors.at_size(tree.size, tree.root)
    anchors.end(tree.size)
    anchors.check_quorum()


@given(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40))
def test_trusted_checkpoint_matches_the_model(n: int, m: int, fork: int) -> None:
    honest = leaves(b"h", max(n, m))
    bundle = honest[:fork] + leaves(b"f", n)[fork:] if fork < n else honest[:n]
    trusted = honest[:m]
    model_ok = n >= m and bundle[:m] == trusted
    anchors = Anchors([TrustedCheckpoint("held.txt", note(trusted))])
    try:
        audit(bundle, anchors)
    except AnchorBroken as exc:
        assert not model_ok
        assert "held.txt" in str(exc)
        assert ("shorter" in str(exc)) == (n < m)
    else:
        assert model_ok


def test_a_trusted_checkpoint_must_be_signed_by_the_log_key() -> None:
    tree = leaves(b"h", 5)
    anchors = Anchors([TrustedCheckpoint("other.txt", note(tree, Ed25519PrivateKey.generate()))])
    with pytest.raises(AnchorBroken, match=r"other\.txt is not a checkpoint of this log"):
        audit(tree, anchors)


def test_quorum_counts_cosignatures_on_consistent_checkpoints_only() -> None:
    policy = witness_policy([WITNESS_VKEY], 1)
    tree = leaves(b"h", 9)
    audit(tree, Anchors(policy=policy), cosigned(note(tree)))
    with pytest.raises(AnchorBroken, match="carries 1 valid"):
        audit(tree, Anchors(policy=policy))
    # A cosigned trusted checkpoint that the head extends serves; one it forks from fails.
    audit(tree, Anchors([TrustedCheckpoint("t", cosigned(note(tree[:4])))], policy))
    fork = leaves(b"f", 4)
    with pytest.raises(AnchorBroken, match="forked"):
        audit(tree, Anchors([TrustedCheckpoint("t", cosigned(note(fork)))], policy))


def test_the_cosigned_record_needs_a_valid_consistency_proof() -> None:
    policy = witness_policy([WITNESS_VKEY], None)
    tree = leaves(b"h", 11)
    earlier = cosigned(note(tree[:6]))
    nodes: dict[merkle.NodeId, bytes] = {}
    rebuilt = TreeRebuilder()
    for leaf in tree:
        nodes.update(rebuilt.add(leaf))
    proof = merkle.resolve(merkle.consistency_plan(6, 11), nodes)
    anchors = Anchors(policy=policy)
    head = Checkpoint(ORIGIN, 11, merkle.mth(tree))
    anchors.start(note(tree), head, ORIGIN, PUBLIC)
    anchors.cosigned(earlier, proof, ORIGIN, PUBLIC)
    anchors.check_quorum()
    anchors = Anchors(policy=policy)
    anchors.start(note(tree), head, ORIGIN, PUBLIC)
    with pytest.raises(AnchorBroken, match="not consistent"):
        anchors.cosigned(earlier, [proof[0], proof[0], *proof[2:]], ORIGIN, PUBLIC)


def test_bad_witness_options() -> None:
    assert witness_policy([], None) is None
    for vkeys, quorum in (([WITNESS_VKEY], 2), ([WITNESS_VKEY], 0), (["x+00000000+BA=="], 1)):
        with pytest.raises(ValueError):
            witness_policy(vkeys, quorum)
