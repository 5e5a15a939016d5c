"""Recompute a Merkle tree from its leaves in one pass, with O(log n) memory.

Shared by the live store check (`appraisal ledger verify`) and the offline
audit verifier, so both judge a ledger by the same arithmetic.
"""

from domain import merkle


class TreeRebuilder:
    """Feeds leaves in order; reports every perfect node they complete and any root."""

    def __init__(self) -> None:
        self.size = 0
        self._range: list[bytes] = []  # the compact range of [0, size), highest level first

    def add(self, leaf: bytes) -> list[tuple[merkle.NodeId, bytes]]:
        index = self.size
        needed = len(merkle.append_siblings(index))
        siblings = [self._range[-1 - i] for i in range(needed)]
        completed = merkle.append(index, leaf, siblings)
        del self._range[len(self._range) - needed :]
        self._range.append(completed[-1][1] if completed else leaf)
        self.size += 1
        return [((0, index), leaf), *completed]

    def root(self) -> bytes:
        return merkle.fold(self._range)
