"""The C2SP tlog-witness `add-checkpoint` rules: what a witness may cosign, given what it
cosigned last.

Why pure: the rule that a witness never cosigns two inconsistent checkpoints of one
log is the whole point of running one, so it is decided here, with no I/O, and the
server around it only persists and signs. Each refusal carries the HTTP status the
specification assigns to it (`status`), for the witness's edge to answer with.
"""

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass

from domain import merkle
from domain.checkpoint import (
    Checkpoint,
    CheckpointError,
    VerifierKey,
    open_note,
    parse_checkpoint,
)
from domain.errors import DomainError

MAX_PROOF_LINES = 63
_OLD_LINE = re.compile(r"old (0|[1-9][0-9]{0,19})")


class WitnessRefusal(DomainError):
    """The witness does not cosign; `status` is the answer tlog-witness prescribes."""

    code = "witness-refusal"
    status = 400


class BadRequest(WitnessRefusal):
    code = "witness-bad-request"
    status = 400


class UnsignedByLog(WitnessRefusal):
    code = "witness-unsigned"
    status = 403


class UnknownLog(WitnessRefusal):
    code = "witness-unknown-log"
    status = 404


class OldSizeMismatch(WitnessRefusal):
    """The client's old size is not the witness's: the body is the witness's own size."""

    code = "witness-old-size"
    status = 409

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message, size=size)
        self.size = size


class Inconsistent(WitnessRefusal):
    code = "witness-inconsistent"
    status = 422


@dataclass(frozen=True)
class AddCheckpoint:
    """An add-checkpoint request: the size the client believes the witness holds, the
    consistency proof from it, and the signed checkpoint note."""

    old: int
    proof: list[bytes]
    note: str


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """The request body: `old <size>`, proof lines (base64), a blank line, the note."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request body is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise BadRequest("the request has no blank line before the checkpoint")
    old_line, *proof_lines = head.split("\n")
    match = _OLD_LINE.fullmatch(old_line)
    if match is None:
        raise BadRequest("the first line must be `old <size>` in decimal, no leading zeroes")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise BadRequest(f"more than {MAX_PROOF_LINES} consistency proof lines")
    return AddCheckpoint(int(match[1]), [_hash(line) for line in proof_lines], note)


def _hash(line: str) -> bytes:
    try:
        raw = base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("a consistency proof line is not base64") from None
    if len(raw) != merkle.HASH_SIZE or base64.b64encode(raw).decode() != line:
        raise BadRequest(f"a consistency proof line is not one {merkle.HASH_SIZE}-byte hash")
    return raw


def log_origin(note: str) -> str:
    """The origin line of a checkpoint note, read before anything is trusted."""
    return note.partition("\n")[0]


def judge(
    request: AddCheckpoint, logs: Mapping[str, VerifierKey], latest: Checkpoint | None
) -> Checkpoint:
    """The checkpoint to cosign, or the refusal the specification prescribes.

    `logs` are the trusted log keys by origin; `latest` is the checkpoint this witness
    last cosigned for the request's log (None if none). Checks run in the order of
    C2SP tlog-witness: origin, signature, old size, then consistency.
    """
    origin = log_origin(request.note)
    log = logs.get(origin)
    if log is None:
        raise UnknownLog(f"unknown log {origin!r}")
    try:
        body = open_note(request.note, log.name, log.public_key)
    except CheckpointError as exc:
        raise UnsignedByLog(f"the checkpoint is not signed by the log's key: {exc}") from None
    try:
        new = parse_checkpoint(body)
    except CheckpointError as exc:
        raise BadRequest(f"malformed checkpoint: {exc}") from None
    if request.old > new.size:
        raise BadRequest(f"old size {request.old} exceeds the checkpoint's size {new.size}")
    held = 0 if latest is None else latest.size
    if request.old != held:
        raise OldSizeMismatch(f"this witness holds size {held} of {origin}", held)
    if new.size == 0 and new.root != merkle.EMPTY_ROOT:
        raise Inconsistent("a checkpoint of size 0 must have the empty tree's root")
    if latest is None or held == 0:
        if request.proof:
            raise Inconsistent("a proof from size 0 must be empty")
    else:
        try:
            merkle.verify_consistency(held, new.size, latest.root, new.root, request.proof)
        except merkle.ProofError as exc:
            raise Inconsistent(f"not consistent with size {held}: {exc}") from None
    return new
