"""Records of an audit bundle (format `appraisal-audit-bundle/v3`, reading v1 and v2 too):
their shapes, both ways.

Why one module: the exporter writes and the offline verifier reads the same
records, so neither can drift from the other. The layout itself is described
in `service.audit`. Pure: no I/O.
"""

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain import keys
from domain.entries import Entry, leaf_input
from domain.envelope import parse_uuid
from domain.errors import DomainError
from domain.merkle import HASH_SIZE, RootAccumulator

BUNDLE_FORMAT = "appraisal-audit-bundle/v3"
WITH_PROOFS = ("appraisal-audit-bundle/v1", "appraisal-audit-bundle/v2")
BUNDLE_FORMATS = frozenset({*WITH_PROOFS, BUNDLE_FORMAT})
COSIGNED_FORMATS = frozenset({"appraisal-audit-bundle/v2", BUNDLE_FORMAT})
ENTRY_FIELDS = ("type", "index", "stream", "version", "topic", "state")  # v3; v1, v2 add "proof"
PROOF = "proof"
LEAVES_PER_RECORD = 256  # v3: one leaves record before each run of this many entries
# Exactly the canonical base64 of 32 bytes: the last digit before "=" carries two zero bits.
CANONICAL_HASH_PATTERN = re.compile(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=")


class NotABundle(DomainError):
    """The file does not start with an audit bundle header."""

    code = "not-an-audit-bundle"


class BadRecord(ValueError):
    """One line of a bundle is not a well-formed record; the message says how."""


@dataclass(frozen=True)
class BundleHeader:
    """The first line: which log, which genesis, how many entries, and the export's scope."""

    origin: str
    log_public_key: str
    admin_key_id: str
    admin_actor_id: str
    tree_size: int
    created_at: str
    campaign_id: str | None
    format: str = BUNDLE_FORMAT

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "header",
            "format": self.format,
            "origin": self.origin,
            "log_public_key": self.log_public_key,
            "admin_key_id": self.admin_key_id,
            "admin_actor_id": self.admin_actor_id,
            "tree_size": self.tree_size,
            "created_at": self.created_at,
            "campaign": self.campaign_id,
        }


@dataclass(frozen=True)
class BundleEntry:
    """One ledger entry with its leaf input and, in v1 and v2, its RFC 9162 inclusion
    proof in the checkpoint's tree (empty when not asked for, and in v3)."""

    index: int
    entry: Entry
    proof: list[bytes]
    leaf_input: bytes


def read_record(text: str | bytes) -> dict[str, Any]:
    """One line as a JSON object carrying a `type`."""
    try:
        record = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRecord(f"the line is not JSON: {exc}") from None
    if not isinstance(record, dict) or not isinstance(record.get("type"), str):
        raise BadRecord("the line is not a bundle record (a JSON object with a type)")
    return record


def parse_header(text: str | bytes) -> BundleHeader:
    """The header line, or NotABundle saying why the file is not a bundle."""
    try:
        record = read_record(text)
    except BadRecord as exc:
        raise NotABundle(f"not an audit bundle: {exc}") from None
    if record.get("type") != "header" or record.get("format") not in BUNDLE_FORMATS:
        raise NotABundle(
            f"not an audit bundle: the first line is not a {' or '.join(sorted(BUNDLE_FORMATS))} "
            "header"
        )
    strings = ("origin", "log_public_key", "admin_key_id", "admin_actor_id", "created_at")
    for name in strings:
        if not isinstance(record.get(name), str) or not record[name]:
            raise NotABundle(f"bundle header: {name} must be a non-empty string")
    size = record.get("tree_size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise NotABundle("bundle header: tree_size must be a non-negative integer")
    campaign = record.get("campaign")
    try:
        if campaign is not None:
            parse_uuid(campaign, "campaign")
        parse_uuid(record["admin_actor_id"], "admin_actor_id")
    except DomainError as exc:
        raise NotABundle(f"bundle header: {exc.message}") from None
    return BundleHeader(
        origin=record["origin"],
        log_public_key=record["log_public_key"],
        admin_key_id=record["admin_key_id"],
        admin_actor_id=record["admin_actor_id"],
        tree_size=size,
        created_at=record["created_at"],
        campaign_id=campaign,
        format=record["format"],
    )


def checkpoint_record(note: str) -> dict[str, Any]:
    return {"type": "checkpoint", "note": note}


def parse_checkpoint_record(record: Mapping[str, Any]) -> str:
    note = record.get("note")
    if record.get("type") != "checkpoint" or not isinstance(note, str):
        raise BadRecord("expected the checkpoint record (a signed note) after the header")
    return note


def cosigned_record(note: str, proof: Sequence[bytes]) -> dict[str, Any]:
    """v2: the latest cosigned checkpoint (below the head) and a consistency proof to it."""
    return {"type": "cosigned", "note": note, "proof": [_b64encode(h) for h in proof]}


def parse_cosigned_record(record: Mapping[str, Any]) -> tuple[str, list[bytes]]:
    note = record.get("note")
    if set(record) != {"type", "note", "proof"} or not isinstance(note, str):
        raise BadRecord("a cosigned record has exactly the fields note (a signed note) and proof")
    return note, _proof(record["proof"])


def carries_proofs(bundle_format: str) -> bool:
    """Whether this format's entry records carry inclusion proofs (v1, v2) or its leaves
    records the leaf hashes (v3)."""
    return bundle_format in WITH_PROOFS


def entry_record(index: int, entry: Entry, proof: Sequence[bytes] | None = None) -> dict[str, Any]:
    """v3's entry record, or, given its inclusion proof, v1 and v2's."""
    record = {"type": "entry", "index": index, **entry.to_json()}
    return record if proof is None else {**record, PROOF: [_b64encode(h) for h in proof]}


def parse_entry(
    record: Mapping[str, Any], with_proof_field: bool = True, *, with_proof: bool = True
) -> BundleEntry:
    """An entry record (with a proof field as in v1 and v2, or without as in v3),
    strictly: the leaf it commits to must have exactly one spelling.

    `with_proof=False` skips decoding the proof, for a reader that needs none while the
    rebuilt root can still prove every entry (`service.audit`).
    """
    fields = (*ENTRY_FIELDS, PROOF) if with_proof_field else ENTRY_FIELDS
    if len(record) != len(fields) or not all(name in record for name in fields):
        raise BadRecord(f"an entry record has exactly the fields {', '.join(sorted(fields))}")
    index, version, topic = record["index"], record["version"], record["topic"]
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise BadRecord("index must be a non-negative integer")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BadRecord("version must be a positive integer")
    if not isinstance(topic, str) or not topic:
        raise BadRecord("topic must be a non-empty string")
    try:
        stream = parse_uuid(record["stream"], "stream")
    except DomainError as exc:
        raise BadRecord(exc.message) from None
    state = _b64(record["state"], "state")
    hashes = _proof(record[PROOF]) if with_proof and with_proof_field else []
    # The record's own text is the leaf's: parse_uuid and _b64 accept only canonical forms.
    leaf = leaf_input(stream, version, topic, record["state"])
    return BundleEntry(index, Entry(UUID(stream), version, topic, state), hashes, leaf)


def leaves_record(start: int, hashes: Sequence[bytes]) -> dict[str, Any]:
    """v3: the tree's leaf hashes of the entries [start, start + len(hashes)) after it."""
    return {"type": "leaves", "start": start, "hashes": [_b64encode(h) for h in hashes]}


def parse_leaves_record(record: Mapping[str, Any]) -> tuple[int, list[bytes]]:
    start, hashes = record.get("start"), record.get("hashes")
    if set(record) != {"type", "start", "hashes"}:
        raise BadRecord("a leaves record has exactly the fields hashes, start and type")
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise BadRecord("a leaves record's start must be a non-negative integer")
    if not isinstance(hashes, list) or not hashes:
        raise BadRecord("a leaves record's hashes must be a non-empty list of base64 hashes")
    return start, [parse_hash(h, "leaf hash") for h in hashes]


def leaf_hashes_root(lines: Iterable[str | bytes]) -> bytes | None:
    """The root of the tree of the leaf hashes a v3 bundle's leaves records give, in
    order (the lines after the checkpoint); None if they are not well formed, or do
    not follow on from each other.

    Why: when it is the signed root, those hashes are the tree's own, so an entry whose
    hash differs from the one given for its index is exactly the altered (or moved)
    one, as an inclusion proof would name it.
    """
    tree = RootAccumulator()
    for line in lines:
        try:
            record = read_record(line)
            if record["type"] == "leaves":
                start, hashes = parse_leaves_record(record)
                if start != tree.size:
                    return None
                for leaf in hashes:
                    tree.add(leaf)
        except BadRecord:
            return None
    return tree.root()


def parse_hash(value: Any, what: str) -> bytes:
    """One base64 hash of HASH_SIZE bytes."""
    if type(value) is str and CANONICAL_HASH_PATTERN.fullmatch(value):
        return binascii.a2b_base64(value)
    raw = _b64(value, what)
    if len(raw) != HASH_SIZE:
        raise BadRecord(f"{what} must have {HASH_SIZE} bytes")
    return raw


def _proof(proof: Any) -> list[bytes]:
    if not isinstance(proof, list):
        raise BadRecord("proof must be a list of base64 hashes")
    return [parse_hash(h, "proof hash") for h in proof]


def results_record(summary: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "results", **summary}


def parse_results_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A published-results record, minus its type; its content is judged by the verifier."""
    summary = {k: v for k, v in record.items() if k != "type"}
    try:
        parse_uuid(summary.get("campaign_id"), "campaign_id")
    except DomainError as exc:
        raise BadRecord(f"results record: {exc.message}") from None
    results = summary.get("results")
    if not isinstance(results, list) or not all(
        isinstance(r, dict) and isinstance(r.get("appraisee_id"), str) for r in results
    ):
        raise BadRecord("results record: results must be a list of objects with an appraisee_id")
    return summary


def parse_log_key(text: str) -> bytes:
    """The log's public key as `appraisal init --json` prints it (base64url raw Ed25519)."""
    return keys.decode_public_key(text, what="log key")


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise BadRecord(f"{what} must be a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRecord(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != value:
        raise BadRecord(f"{what} is not canonical base64")
    return raw
