"""The log's side of C2SP tlog-witness: submit checkpoints, keep the cosignatures.

Why here and not in the checkpointer alone: a tally (`balloting.close`,
`results.approve`) must rest on a head the witnesses' quorum cosigned, so the same
code asks for cosignatures in the background and on demand, and refuses the command
when the quorum cannot be had.
"""

import base64
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.checkpoint import (
    CheckpointError,
    VerifierKey,
    parse_signature_lines,
    split_note,
)
from domain.cosignature import parse_cosigner_vkey, verify_cosignature
from domain.errors import DomainError
from service.ledger import Ledger
from service.recorders import StoredCheckpoint
from service.settings import Settings, SettingsError

log = logging.getLogger("appraisal.witnessing")

TIMEOUT_SECONDS = 5.0
ATTEMPTS = 3  # a 409 tells the witness's size; a second try with that size should pass
MAX_RESPONSE_BYTES = 64 * 1024


class WitnessUnavailable(DomainError):
    """Not enough witnesses cosigned a head the command could rest on; nothing written."""

    code = "witness-unavailable"


@dataclass(frozen=True)
class WitnessEndpoint:
    url: str  # the submission prefix
    vkey: VerifierKey


Post = Callable[[str, bytes], tuple[int, bytes]]


def http_post(url: str, body: bytes) -> tuple[int, bytes]:
    """POST `body`; the status and body of any answer, or (0, reason) if none came."""
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(MAX_RESPONSE_BYTES)
    except (OSError, ValueError) as exc:
        return 0, str(exc).encode()


def request_body(old: int, proof: Sequence[bytes], note: str) -> bytes:
    lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
    return f"old {old}\n{lines}\n{note}".encode()


class Witnessing:
    """Asks each configured witness to cosign the log's checkpoints; keeps what they return."""

    def __init__(
        self,
        ledger: Ledger,
        witnesses: Sequence[WitnessEndpoint],
        quorum: int,
        post: Post = http_post,
    ) -> None:
        self.ledger = ledger
        self.witnesses = list(witnesses)
        self.quorum = quorum
        self._post = post
        self._lock = threading.Lock()  # one submission per witness at a time, in this process

    @classmethod
    def from_settings(cls, ledger: Ledger, settings: Settings) -> "Witnessing | None":
        if not settings.witnesses:
            return None
        endpoints = []
        for url, vkey in settings.witnesses:
            try:
                endpoints.append(WitnessEndpoint(url, parse_cosigner_vkey(vkey)))
            except CheckpointError as exc:
                raise SettingsError(f"APPRAISAL_WITNESSES: {exc}") from None
        return cls(ledger, endpoints, settings.witness_quorum)

    def cosign(self, stored: StoredCheckpoint) -> int:
        """Ask every witness that has not cosigned `stored` yet; the number that have now."""
        with self._lock:
            held = self.ledger.recorder.cosignatures_at(stored.size)
            for witness in self.witnesses:
                if str(witness.vkey) not in held and self._ask(witness, stored):
                    held[str(witness.vkey)] = ""
            return sum(str(w.vkey) in held for w in self.witnesses)

    def tree_head(self) -> dict[str, Any]:
        """A signed head the quorum cosigned, for a tally to rest on; else WitnessUnavailable.

        A witness ahead of the checkpoint asked (another process submitted a newer one)
        is asked again with the newest checkpoint.
        """
        cosigned = 0
        for _ in range(ATTEMPTS):
            stored = self.ledger.checkpoint_now()
            cosigned = self.cosign(stored)
            if cosigned >= self.quorum:
                return {"tree_size": stored.size, "root": base64.b64encode(stored.root).decode()}
        raise WitnessUnavailable(
            f"only {cosigned} of the {self.quorum} witness cosignatures required could be "
            "obtained for the current tree head; nothing was written"
        )

    def _ask(self, witness: WitnessEndpoint, stored: StoredCheckpoint) -> bool:
        """Submit `stored` with a consistency proof from the witness's size; True once kept."""
        old = self.ledger.recorder.latest_cosigned(str(witness.vkey))
        for _ in range(ATTEMPTS):
            if old > stored.size:
                return False  # the witness holds a newer checkpoint: ask with a newer one
            proof = [] if old == 0 else self.ledger.consistency_proof(old, stored.size)
            status, answer = self._post(
                f"{witness.url}/add-checkpoint", request_body(old, proof, stored.note)
            )
            if status == 409 and answer.strip().isdigit():
                old = int(answer)
                continue
            if status == 200:
                return self._keep(witness, stored, answer)
            log.warning(
                "witness %s refused checkpoint %d (status %d): %s",
                witness.vkey.name,
                stored.size,
                status,
                answer[:200].decode("utf-8", "replace").strip(),
            )
            return False
        return False

    def _keep(self, witness: WitnessEndpoint, stored: StoredCheckpoint, answer: bytes) -> bool:
        """Keep the witness's own valid cosignature line from its answer; ignore the rest."""
        body, _ = split_note(stored.note)
        try:
            for line in parse_signature_lines(answer.decode("utf-8")):
                if (line.name, line.key_hash) == (witness.vkey.name, witness.vkey.key_hash):
                    verify_cosignature(body, line, witness.vkey)
                    self.ledger.recorder.store_cosignature(
                        stored.size, str(witness.vkey), line.line()
                    )
                    return True
        except (CheckpointError, UnicodeDecodeError) as exc:
            log.warning("witness %s answered a bad cosignature: %s", witness.vkey.name, exc)
            return False
        log.warning("witness %s answered no cosignature by its key", witness.vkey.name)
        return False


class BackgroundCosigner:
    """Thread: asks the witnesses to cosign the latest checkpoint every `interval` seconds.

    Why a thread of its own: a witness that hangs until its timeout must not delay the
    checkpointer, which keeps signing new heads within a second regardless.
    """

    def __init__(self, witnessing: Witnessing, interval: float) -> None:
        self.witnessing = witnessing
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cosigner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2 * TIMEOUT_SECONDS)

    def _run(self) -> None:
        recorder = self.witnessing.ledger.recorder
        while not self._stop.wait(self.interval):
            try:
                latest = recorder.latest_checkpoint()
                if latest is not None:
                    self.witnessing.cosign(latest)
            except Exception:
                # Keep asking after a transient store error, but never silently.
                log.exception("asking the witnesses to cosign failed; retrying")
