"""Trust anchors of an audit: checkpoints the auditor already held, and witnesses' quorum.

Why: a bundle proves only that its entries lead to a checkpoint the log key signed,
and whoever holds the log key can sign a shortened or rewritten tree. A checkpoint
obtained earlier (from the API, a receipt, a witness) pins the tree at its size;
witnesses' cosignatures pin it for everyone. So the audit fails when the bundle's
tree is shorter than, or forks from, a trusted checkpoint, and, when witnesses are
given, unless K of them cosigned the head or a trusted checkpoint it extends.

Pure: the auditor feeds roots as it rebuilds the tree; nothing is read here.
"""

import base64
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain import merkle
from domain.checkpoint import Checkpoint, CheckpointError, VerifierKey, verify_checkpoint
from domain.cosignature import cosignatures, parse_cosigner_vkey


class AnchorBroken(Exception):
    """The bundle contradicts a trust anchor, or the witnesses' quorum is not met."""


@dataclass(frozen=True)
class TrustedCheckpoint:
    """A checkpoint note the auditor got earlier; `label` names it (its file)."""

    label: str
    note: str


@dataclass(frozen=True)
class WitnessPolicy:
    witnesses: tuple[VerifierKey, ...]
    quorum: int


def witness_policy(vkeys: Sequence[str], quorum: int | None) -> WitnessPolicy | None:
    """The witnesses' vkeys and how many must cosign (default: all), as an auditor or a
    voter gives them; ValueError on a bad vkey or quorum. None when no witness is given."""
    try:
        witnesses = tuple(parse_cosigner_vkey(vkey) for vkey in vkeys)
    except CheckpointError as exc:
        raise ValueError(f"--witness: {exc}") from None
    if quorum is not None and not 1 <= quorum <= len(witnesses):
        raise ValueError(f"--witness-quorum must be between 1 and the {len(witnesses)} witness(es)")
    return WitnessPolicy(witnesses, quorum or len(witnesses)) if witnesses else None


@dataclass
class _Held:
    label: str
    note: str
    checkpoint: Checkpoint
    consistent: bool = False


@dataclass
class Anchors:
    """Feed it the tree as the audit rebuilds it; it raises AnchorBroken at the first
    contradiction, naming the anchor."""

    trusted: Sequence[TrustedCheckpoint] = ()
    policy: WitnessPolicy | None = None
    _held: list[_Held] = field(default_factory=list)  # the trusted checkpoints
    _by_size: dict[int, list[_Held]] = field(default_factory=dict)
    _head: _Held | None = None
    _cosigned: _Held | None = None

    @property
    def given(self) -> bool:
        return bool(self.trusted) or self.policy is not None

    def start(self, note: str, signed: Checkpoint, origin: str, log_key: bytes) -> None:
        """The bundle's signed head is read: verify every trusted checkpoint with the log's
        key before any entry is."""
        self._head = _Held("the bundle's checkpoint", note, signed, consistent=True)
        for anchor in self.trusted:
            try:
                signed = verify_checkpoint(anchor.note, origin, log_key)
            except CheckpointError as exc:
                raise AnchorBroken(
                    f"trusted checkpoint {anchor.label} is not a checkpoint of this log "
                    f"signed by the log key: {exc}"
                ) from None
            held = _Held(anchor.label, anchor.note, signed)
            self._held.append(held)
            self._by_size.setdefault(signed.size, []).append(held)
        self.at_size(0, lambda: merkle.EMPTY_ROOT)

    def at_size(self, size: int, root: Callable[[], bytes]) -> None:
        """The rebuilt tree has reached `size` leaves; `root` computes its root."""
        for held in self._by_size.get(size, ()):
            if root() != held.checkpoint.root:
                raise AnchorBroken(
                    f"the log forked from trusted checkpoint {held.label}: its tree of "
                    f"{size} entries has root {_b64(held.checkpoint.root)}, the bundle's "
                    f"has {_b64(root())}"
                )
            held.consistent = True

    def end(self, size: int) -> None:
        """All `size` entries are in: no trusted checkpoint may be longer."""
        for held in self._held:
            if held.checkpoint.size > size:
                raise AnchorBroken(
                    f"the log is shorter than trusted checkpoint {held.label}: it held "
                    f"{held.checkpoint.size} entries, the bundle {size} (truncated or rolled back)"
                )

    def cosigned(self, note: str, proof: Sequence[bytes], origin: str, log_key: bytes) -> None:
        """The bundle's latest cosigned checkpoint, with a consistency proof to its head."""
        assert self._head is not None
        try:
            signed = verify_checkpoint(note, origin, log_key)
        except CheckpointError as exc:
            raise AnchorBroken(
                f"the cosigned checkpoint is not signed by the log key: {exc}"
            ) from None
        head = self._head.checkpoint
        try:
            merkle.verify_consistency(signed.size, head.size, signed.root, head.root, proof)
        except merkle.ProofError as exc:
            raise AnchorBroken(
                f"the cosigned checkpoint of {signed.size} entries is not consistent with "
                f"the bundle's head: {exc}"
            ) from None
        if self._cosigned is not None:
            raise AnchorBroken("a second cosigned checkpoint record")
        self._cosigned = _Held("the bundle's cosigned checkpoint", note, signed, consistent=True)

    def check_quorum(self) -> None:
        """K valid cosignatures on the head or on a checkpoint it was shown to extend."""
        if self.policy is None:
            return
        best = (0, "")
        for held in self._consistent():
            try:
                count = len(cosignatures(held.note, self.policy.witnesses))
            except CheckpointError as exc:
                raise AnchorBroken(f"{held.label} carries a bad cosignature: {exc}") from None
            if count > best[0]:
                best = (count, held.label)
            if count >= self.policy.quorum:
                return
        raise AnchorBroken(
            f"no checkpoint consistent with the bundle's head carries {self.policy.quorum} "
            f"valid cosignature(s) of the given witnesses (the most: {best[0]}"
            + (f", on {best[1]})" if best[1] else ")")
        )

    def summary(self) -> dict[str, Any]:
        """What the anchors established, for the audit report."""
        cosigned = {held.label: self._cosigners(held) for held in self._consistent()}
        return {
            "trusted_checkpoints": [
                {"file": h.label, "tree_size": h.checkpoint.size} for h in self._held
            ],
            "witness_quorum": None if self.policy is None else self.policy.quorum,
            "cosignatures": {label: keys for label, keys in cosigned.items() if keys},
        }

    def _cosigners(self, held: _Held) -> list[str]:
        """The given witnesses that validly cosigned `held` (none if a cosignature is bad)."""
        try:
            return sorted(cosignatures(held.note, self.policy.witnesses if self.policy else ()))
        except CheckpointError:
            return []

    def _consistent(self) -> Iterable[_Held]:
        every = (self._head, *self._held, self._cosigned)
        return [h for h in every if h is not None and h.consistent]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
