"""A C2SP tlog-witness: the latest checkpoint it cosigned per log, kept durably.

Why a file per log, fsync'd and renamed into place under a lock: the witness's one
promise is never to cosign two inconsistent checkpoints of a log, so checking a
request against the stored state and persisting the new state happen atomically
(across threads and processes), and the state survives a crash or a restart before
the cosignature leaves the machine.
"""

import base64
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.checkpoint import Checkpoint, VerifierKey, parse_vkey, split_note
from domain.cosignature import cosign, cosigner_vkey
from domain.witness import judge, log_origin, parse_add_checkpoint
from service.keyfiles import private_dir

LOCK_FILE = ".lock"


def origin_hash(origin: str) -> str:
    """The log's name in the state directory and in URLs: hex SHA-256 of its origin."""
    return hashlib.sha256(origin.encode()).hexdigest()


@dataclass(frozen=True)
class WitnessedLog:
    """What the witness holds for one log: the checkpoint it last cosigned, as the log
    signed it, with the witness's own cosignature."""

    checkpoint: Checkpoint
    note: str


class Witness:
    def __init__(
        self,
        name: str,
        key: Ed25519PrivateKey,
        logs: Iterable[str],
        state_dir: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._key = key
        parsed = [parse_vkey(vkey) for vkey in logs]
        self.logs: dict[str, VerifierKey] = {log.name: log for log in parsed}
        self.state_dir = state_dir
        self._clock = clock
        self._lock = threading.Lock()
        private_dir(state_dir)

    @property
    def vkey(self) -> str:
        return cosigner_vkey(self.name, self._key.public_key().public_bytes_raw())

    def add_checkpoint(self, body: bytes) -> str:
        """Judge an add-checkpoint request body; persist, then return the cosignature line.

        Raises domain.witness.WitnessRefusal (with the status to answer) otherwise.
        """
        request = parse_add_checkpoint(body)
        with self._exclusive():
            held = self.latest(log_origin(request.note))
            new = judge(request, self.logs, None if held is None else held.checkpoint)
            text, _ = split_note(request.note)
            line = cosign(text, self.name, self._key, self._timestamp()).line()
            self._store(WitnessedLog(new, request.note + line))
        return line

    def latest(self, origin: str) -> WitnessedLog | None:
        """The checkpoint last cosigned for `origin`, or None if never."""
        try:
            record = json.loads(self._path(origin).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        root = base64.b64decode(record["root"], validate=True)
        return WitnessedLog(Checkpoint(record["origin"], record["size"], root), record["note"])

    def _timestamp(self) -> int:
        return max(1, int(self._clock()))

    def _path(self, origin: str) -> Path:
        return self.state_dir / f"{origin_hash(origin)}.json"

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One judge-and-persist at a time, in this process and any other on the same state."""
        with self._lock, (self.state_dir / LOCK_FILE).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _store(self, witnessed: WitnessedLog) -> None:
        cp = witnessed.checkpoint
        record = {
            "origin": cp.origin,
            "size": cp.size,
            "root": base64.b64encode(cp.root).decode(),
            "note": witnessed.note,
        }
        path = self._path(cp.origin)
        partial = path.with_suffix(".partial")
        with partial.open("w", encoding="utf-8") as out:
            json.dump(record, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
        directory = os.open(self.state_dir, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
