"""RFC 9162 §2.1 Merkle tree math for a store that keeps only perfect subtree nodes.

Why this shape: the ledger writes each node once, when it becomes a *perfect*
subtree (2**level aligned leaves), and never rewrites it. Every root and every
proof entry of RFC 9162 is the fold of a few such nodes, so this module plans
roots and proofs as lists of node ids, the store fetches them in one query, and
`resolve` folds them. Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2.

A node id is `(level, index)`: the perfect subtree covering leaves
`[index * 2**level, (index + 1) * 2**level)`; level 0 is the leaves.

Pure: no I/O, no clock, no database.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]
Plan = list[list[NodeId]]


class ProofError(ValueError):
    """A proof does not verify, or is malformed for the sizes it claims."""


def leaf_hash(leaf_input: bytes) -> bytes:
    """RFC 9162 leaf hash; the 0x00 prefix keeps leaves apart from inner nodes."""
    return hashlib.sha256(b"\x00" + leaf_input).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 inner node hash; the 0x01 prefix keeps nodes apart from leaves."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def append_siblings(index: int) -> list[NodeId]:
    """Stored left siblings needed to complete the perfect nodes leaf `index` closes.

    Why: appending leaf `index` completes one node per trailing 1-bit of
    `index`; each needs its left sibling, which is already stored.
    """
    if index < 0:
        raise ValueError(f"leaf index must be >= 0, got {index}")
    siblings = []
    level = 0
    while index & 1:
        siblings.append((level, index - 1))
        index >>= 1
        level += 1
    return siblings


def append(index: int, leaf: bytes, siblings: Sequence[bytes]) -> list[tuple[NodeId, bytes]]:
    """Nodes (level >= 1) completed by appending leaf hash `leaf` at `index`, lowest first.

    Why: lets the store write every new perfect node in the same transaction as
    the leaf, in amortised O(1) hashes per append. `siblings` are the hashes of
    `append_siblings(index)`, in that order.
    """
    expected = len(append_siblings(index))
    if len(siblings) != expected:
        raise ValueError(f"leaf {index} needs {expected} sibling hashes, got {len(siblings)}")
    completed = []
    node = leaf
    for level, sibling in enumerate(siblings, start=1):
        index >>= 1
        node = node_hash(sibling, node)
        completed.append(((level, index), node))
    return completed


def perfect_ranges(start: int, end: int) -> list[NodeId]:
    """Minimal left-to-right perfect subtree ids covering leaves [start, end).

    Why: the RFC's MTH of [0, n), and of each right-edge range [k, n) its
    recursion produces, is the right fold of exactly these stored nodes.
    """
    if not 0 <= start <= end:
        raise ValueError(f"invalid leaf range [{start}, {end})")
    ids = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        ids.append((level, start >> level))
        start += 1 << level
    return ids


def fold(hashes: Sequence[bytes]) -> bytes:
    """RFC 9162 MTH of consecutive perfect subtrees given left to right.

    Why: the largest-power-of-two split of MTH nests to the right, so the hash
    is folded from the last subtree leftwards.
    """
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in hashes[-2::-1]:
        acc = node_hash(h, acc)
    return acc


def root_plan(size: int) -> list[NodeId]:
    """Node ids whose fold is the root of the tree of `size` leaves."""
    return perfect_ranges(0, size)


def _split(n: int) -> int:
    """Largest power of two strictly below n (n >= 2): RFC 9162's k."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_plan(index: int, size: int) -> Plan:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size]) as node ids, leaf-adjacent entry first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not below tree size {size}")
    path = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            path.append(perfect_ranges(mid, hi))
            hi = mid
        else:
            path.append(perfect_ranges(lo, mid))
            lo = mid
    path.reverse()
    return path


def consistency_plan(old_size: int, new_size: int) -> Plan:
    """RFC 9162 §2.1.4.1 PROOF(old_size, D[0:new_size]) as node ids, in proof order."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"need 0 < old_size <= new_size, got {old_size} and {new_size}")
    proof = []
    lo, hi = 0, new_size
    complete_subtree = True
    while old_size < hi:
        mid = lo + _split(hi - lo)
        if old_size <= mid:
            proof.append(perfect_ranges(mid, hi))
            hi = mid
        else:
            proof.append(perfect_ranges(lo, mid))
            lo = mid
            complete_subtree = False
    if not complete_subtree:
        proof.append(perfect_ranges(lo, hi))
    proof.reverse()
    return proof


def resolve(plan: Plan, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """Proof hashes of `plan`, folding each entry from the fetched `nodes`."""
    return [fold([nodes[node] for node in entry]) for entry in plan]


def plan_nodes(plan: Plan) -> set[NodeId]:
    """Every node id `plan` needs, so a store can fetch them in one query."""
    return {node for entry in plan for node in entry}


def _check_hashes(hashes: Iterable[bytes]) -> None:
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise ProofError(f"hash has {len(h)} bytes, want {HASH_SIZE}")


def _chain(fn: int, sn: int, seed: bytes, path: Sequence[bytes]) -> tuple[bytes, bytes]:
    """The shared loop of RFC 9162 §2.1.3.2 step 4 and §2.1.4.2 step 6.

    Returns (fr, sr): fr hashes in only the left siblings (the old root, for
    consistency), sr hashes in all of them (the root). Node hashes are written
    out (as `node_hash`) because an audit runs this loop for every entry.
    """
    sha256 = hashlib.sha256
    fr = sr = seed
    for p in path:
        if sn == 0:
            raise ProofError("proof is longer than the tree sizes allow")
        if fn & 1 or fn == sn:
            fr = sha256(b"\x01" + p + fr).digest()
            sr = sha256(b"\x01" + p + sr).digest()
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = sha256(b"\x01" + sr + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the tree sizes require")
    return fr, sr


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """Root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1-4 and the sn check)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below tree size {size}")
    _check_hashes([leaf, *proof])
    return _chain(index, size - 1, leaf, proof)[1]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise ProofError unless `proof` shows leaf hash `leaf` at `index` under `root`."""
    if root_from_inclusion(leaf, index, size, proof) != root:
        raise ProofError("inclusion proof does not lead to the expected root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless `proof` shows the tree `new_root` extends `old_root`.

    RFC 9162 §2.1.4.2. As in the shared transparency-dev vectors, a proof from
    the empty tree is rejected (it proves nothing), equal sizes need an empty
    proof and equal roots, and roots are compared, never parsed.
    """
    if not 0 <= old_size <= new_size:
        raise ProofError(f"need 0 <= old_size <= new_size, got {old_size} and {new_size}")
    if old_size == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if old_size == new_size:
        if proof:
            raise ProofError("equal tree sizes need an empty proof")
        if old_root != new_root:
            raise ProofError("equal tree sizes but different roots")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    _check_hashes(proof)
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr, sr = _chain(fn, sn, path[0], path[1:])
    if fr != old_root:
        raise ProofError("consistency proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the new root")


class RootAccumulator:
    """Streaming RFC 9162 root over leaf hashes: O(1) amortised per leaf, O(log n) memory.

    Why: an offline verifier recomputes the root of a large bundle in one pass
    without holding every leaf; the stack holds the perfect subtrees of
    `root_plan(size)`, left to right.
    """

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self.size = 0

    def add(self, leaf: bytes) -> None:
        """Append one leaf hash."""
        node = leaf
        index = self.size
        while index & 1:
            node = node_hash(self._stack.pop(), node)
            index >>= 1
        self._stack.append(node)
        self.size += 1

    def root(self) -> bytes:
        """Root of the leaves added so far (EMPTY_ROOT when none)."""
        return fold(self._stack)

    def subtrees(self) -> tuple[bytes, ...]:
        """The perfect subtrees of the tree so far, left to right: `fold` them for its root.

        Why: keeping these for many sizes is cheap, folding each into a root is not.
        """
        return tuple(self._stack)


def mth(leaves: Iterable[bytes]) -> bytes:
    """RFC 9162 MTH of the given leaf hashes; the reference a whole-log check recomputes."""
    acc = RootAccumulator()
    for leaf in leaves:
        acc.add(leaf)
    return acc.root()
