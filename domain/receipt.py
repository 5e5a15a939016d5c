"""A ballot's receipt, checked by its evaluator: the leaf they hash themselves, their signed
envelope inside it, and its inclusion under a signed (and cosigned) checkpoint.

Why pure and apart from the server: the point of a receipt is that the voter trusts
nothing the server says about their ballot now, so everything is recomputed here from
the receipt's own leaf input; only the checkpoint and the proof come from outside, and
both are checked with keys the voter holds.
"""

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain import merkle
from domain.audit_bundle import CANONICAL_HASH_PATTERN, BadRecord, parse_entry
from domain.canonical import b64url_decode
from domain.checkpoint import Checkpoint
from domain.envelope import Envelope, parse_envelope
from domain.errors import DomainError
from domain.keys import PUBLIC_KEY_SIZE, key_id

BALLOT_CAST = "ballot.cast"


class ReceiptInvalid(DomainError):
    code = "receipt-invalid"


@dataclass(frozen=True)
class Receipt:
    """A receipt whose leaf, envelope and signature agree with each other."""

    ballot_id: str
    index: int
    leaf_hash: bytes
    envelope: Envelope


def check_receipt(document: Any) -> Receipt:
    """A ballot's answer (or its `receipt` member alone), checked for what needs no server:
    the leaf hash is the hash of the leaf input, the leaf holds a signed `ballot.cast`
    envelope for this very ballot, and the envelope verifies with its signer's key (whose
    hash is the envelope's signer id)."""
    if not isinstance(document, Mapping):
        raise ReceiptInvalid("a receipt is a JSON object")
    receipt = document.get("receipt", document)
    if not isinstance(receipt, Mapping):
        raise ReceiptInvalid("the receipt member is not an object")
    index, stated, leaf = (receipt.get(k) for k in ("ledger_index", "leaf_hash", "leaf"))
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ReceiptInvalid("ledger_index must be a non-negative integer")
    if not isinstance(stated, str) or not CANONICAL_HASH_PATTERN.fullmatch(stated):
        raise ReceiptInvalid("leaf_hash must be one base64 SHA-256 hash")
    if not isinstance(leaf, Mapping):
        raise ReceiptInvalid("the receipt has no leaf input (stream, version, topic, state)")
    try:
        entry = parse_entry({"type": "entry", "index": index, **leaf, "proof": []})
    except (BadRecord, TypeError) as exc:
        raise ReceiptInvalid(f"the receipt's leaf input is malformed: {exc}") from None
    leaf_hash = merkle.leaf_hash(entry.leaf_input)
    if stated != _b64(leaf_hash):
        raise ReceiptInvalid(
            f"the receipt's leaf_hash {stated} is not the hash of its leaf input "
            f"({_b64(leaf_hash)})"
        )
    envelope = _envelope_inside(entry.entry.state)
    _check_signed(envelope, receipt.get("signer_public_key"))
    ballot_id = envelope.command.get("ballot_id")
    if envelope.command_type != BALLOT_CAST or ballot_id != str(entry.entry.stream):
        raise ReceiptInvalid("the leaf is not the ballot its envelope casts")
    if document.get("ballot_id", ballot_id) != ballot_id:
        raise ReceiptInvalid(
            f"the answer names ballot {document.get('ballot_id')}, the leaf {ballot_id}"
        )
    return Receipt(ballot_id, index, leaf_hash, envelope)


def check_covered(receipt: Receipt, head: Checkpoint) -> None:
    """The signed `head` reaches the receipt's index (else a later checkpoint will)."""
    if head.size <= receipt.index:
        raise ReceiptInvalid(
            f"the checkpoint covers {head.size} entries, not yet entry {receipt.index}"
        )


def check_included(receipt: Receipt, head: Checkpoint, proof: Sequence[bytes]) -> None:
    """The receipt's leaf is at its index in the tree of the signed `head`."""
    check_covered(receipt, head)
    try:
        merkle.verify_inclusion(receipt.leaf_hash, receipt.index, head.size, proof, head.root)
    except merkle.ProofError as exc:
        raise ReceiptInvalid(
            f"entry {receipt.index} of the signed tree of {head.size} entries is not this "
            f"receipt's leaf: {exc}"
        ) from None


def _envelope_inside(state: bytes) -> Envelope:
    try:
        raw = json.loads(state)["envelope"]
    except (ValueError, KeyError, TypeError):
        raise ReceiptInvalid("the leaf's state holds no signed envelope") from None
    try:
        return parse_envelope(raw)
    except DomainError as exc:
        raise ReceiptInvalid(f"the envelope inside the leaf is malformed: {exc.message}") from None


def _check_signed(envelope: Envelope, public_key: Any) -> None:
    if not isinstance(public_key, str):
        raise ReceiptInvalid("the receipt names no signer_public_key")
    try:
        raw = b64url_decode(public_key, length=PUBLIC_KEY_SIZE, what="signer_public_key")
    except DomainError as exc:
        raise ReceiptInvalid(exc.message) from None
    if key_id(raw) != envelope.signer:
        raise ReceiptInvalid(f"signer_public_key is not the key {envelope.signer} that signed")
    try:
        envelope.verify(raw)
    except DomainError:
        raise ReceiptInvalid("the envelope's signature does not verify") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def receipt_summary(receipt: Receipt, head: Checkpoint) -> dict[str, Any]:
    return {
        "ok": True,
        "ballot_id": receipt.ballot_id,
        "ledger_index": receipt.index,
        "signer": receipt.envelope.signer,
        "tree_size": head.size,
        "root": _b64(head.root),
        "origin": head.origin,
    }
