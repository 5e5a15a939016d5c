"""Reads of the ledger: roots, proofs, entries and signed checkpoints (DESIGN §6)."""

import base64
import logging
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import checkpoint, merkle
from domain.entries import Entry
from domain.errors import DomainError
from domain.keys import raw_public_key
from service.recorders import LedgerRecorder, StoredCheckpoint

log = logging.getLogger("appraisal.checkpointer")


class ProofUnavailable(DomainError):
    code = "proof-unavailable"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass
class Ledger:
    recorder: LedgerRecorder
    log_key: Ed25519PrivateKey
    origin: str

    @property
    def log_public_key(self) -> bytes:
        return raw_public_key(self.log_key)

    def size(self) -> int:
        return self.recorder.ledger_size()

    def root(self, size: int) -> bytes:
        plan = [merkle.root_plan(size)]
        return merkle.resolve(plan, self.recorder.ledger_nodes(merkle.plan_nodes(plan)))[0]

    def _check_size(self, size: int) -> None:
        current = self.size()
        if size < 1 or size > current:
            raise ProofUnavailable(f"tree size must be between 1 and {current}, got {size}")

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        self._check_size(size)
        if not 0 <= index < size:
            raise ProofUnavailable(f"index must be between 0 and {size - 1}, got {index}")
        plan = merkle.inclusion_plan(index, size)
        return merkle.resolve(plan, self.recorder.ledger_nodes(merkle.plan_nodes(plan)))

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        self._check_size(new_size)
        if not 1 <= old_size <= new_size:
            raise ProofUnavailable(f"from must be between 1 and {new_size}, got {old_size}")
        plan = merkle.consistency_plan(old_size, new_size)
        return merkle.resolve(plan, self.recorder.ledger_nodes(merkle.plan_nodes(plan)))

    def leaf_hash(self, index: int) -> bytes:
        return self.recorder.ledger_nodes([(0, index)])[(0, index)]

    def entries(self, start: int, limit: int) -> list[dict[str, Any]]:
        rows = self.recorder.ledger_entries(start, start + limit)
        return [
            {
                "index": row["index"],
                "leaf_hash": b64(row["leaf_hash"] or b""),
                **Entry(row["stream"], row["version"], row["topic"], row["state"]).to_json(),
            }
            for row in rows
            if row["state"] is not None
        ]

    def leaves(self, start: int, limit: int) -> list[dict[str, Any]]:
        """Index and leaf hash of `limit` leaves from `start`: what anyone may check a
        proof against, without the states (named scores, personnel data)."""
        return [
            {"index": entry["index"], "leaf_hash": entry["leaf_hash"]}
            for entry in self.entries(start, limit)
        ]

    def checkpoint_now(self) -> StoredCheckpoint:
        """Sign the current tree head unless the latest checkpoint already covers it."""
        size = self.size()
        latest = self.recorder.latest_checkpoint()
        if latest is not None and latest.size >= size:
            return latest
        root = self.root(size) if size else merkle.EMPTY_ROOT
        note = checkpoint.sign_checkpoint(self.origin, size, root, self.origin, self.log_key)
        self.recorder.store_checkpoint(size, root, note)
        return self.recorder.checkpoint_at(size) or StoredCheckpoint(size, root, note)

    def cosigned_note(self, stored: StoredCheckpoint) -> str:
        """The checkpoint note with every witness cosignature obtained for it."""
        block = "".join(self.recorder.cosignatures_at(stored.size).values())
        if not block:
            return stored.note
        return checkpoint.with_signatures(stored.note, checkpoint.parse_signature_lines(block))

    def tree_head(self) -> dict[str, Any]:
        """A signed checkpoint of the tree as it stands, for events that rest on it."""
        stored = self.checkpoint_now()
        return {"tree_size": stored.size, "root": b64(stored.root)}


class Checkpointer:
    """Background thread: a new checkpoint covers new events within `interval` seconds."""

    def __init__(self, ledger: Ledger, interval: float) -> None:
        self.ledger = ledger
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="checkpointer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.ledger.checkpoint_now()
            except Exception:
                # Keep signing after a transient store error, but never silently.
                log.exception("signing a checkpoint failed; retrying in %.1fs", self.interval)
