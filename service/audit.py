"""Audit bundles: export from the live store, verify offline, re-derive a campaign live.

Bundle format `appraisal-audit-bundle/v3` (v1 and v2 are still read: v2 carries an
inclusion proof in each entry instead of leaves records, v1 is v2 without the cosigned
record): JSON Lines (UTF-8, one JSON object per line, each with a `type`),
written and read as a stream:

1. `{"type": "header", "format": "appraisal-audit-bundle/v3", "origin": <log origin>,
   "log_public_key": <base64url raw Ed25519 key>, "admin_key_id": <genesis admin key
   id>, "admin_actor_id": <uuid>, "tree_size": N, "created_at": <RFC 3339 UTC>,
   "campaign": <uuid of the export's scope, or null>}`
2. `{"type": "checkpoint", "note": <C2SP signed checkpoint note of exactly N entries,
   with every witness cosignature obtained for it>}`
3. In ledger order, i = 0 … N-1: before each run of up to LEAVES_PER_RECORD entries,
   `{"type": "leaves", "start": i, "hashes": [<base64 RFC 9162 leaf hash>, …]}` (the
   tree's stored leaves of entries i, i+1, …), then the entries `{"type": "entry",
   "index": i, "stream": <uuid>, "version": v, "topic": <event topic>, "state":
   <base64 of the stored state bytes>}`. stream, version, topic and state are exactly
   the leaf-input fields of DESIGN §6. The rebuilt tree proves every entry at once;
   the leaf hashes name a bad one: once they are found to lead to the signed root,
   they are the tree's own, and an entry whose hash differs from its index's is the
   altered one. (v2's per-entry inclusion proofs did the same at 43 % of the bundle,
   growing with the log.) The key registry's events (Actor.*, KeyBinding.*) are
   ordinary entries.
4. One `{"type": "results", "campaign_id", "status", "proposal_hash", "approved":
   {"proposal_hash", "adjustments", "signers"} | null, "results": [{"appraisee_id",
   "category", "status", "score", "score_exact", "rank", "computed_grade", "grade",
   "adjustment_reason", "flags"}]}` per campaign in scope: its published results
   (the latest proposal, with the committee's adjustments applied) as of entry N.
5. v2 and v3, when witnesses are configured and the head is not their latest cosigned
   checkpoint: `{"type": "cosigned", "note": <the latest cosigned checkpoint note of
   M < N entries, with its cosignatures>, "proof": [<base64 hash>, …]}`, proof being
   the RFC 9162 consistency proof from M to N.

`--campaign` narrows the scope, not the entries: every entry is still exported
(the root needs every leaf, and the registry's history is needed to judge any
signature), so the tree, every signature and every transition are still
checked; only that campaign's proposals are re-derived and its results exported.
"""

import base64
import gc
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any, Self
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.anchors import Anchors
from domain.audit import Auditor, AuditReport, Rederived, verify_now
from domain.audit_bundle import (
    LEAVES_PER_RECORD,
    WITH_PROOFS,
    BundleHeader,
    NotABundle,
    checkpoint_record,
    cosigned_record,
    entry_record,
    leaf_hashes_root,
    leaves_record,
    parse_header,
    results_record,
)
from domain.audit_results import (
    REPLAY_FIELDS,
    ResultDifference,
    published_results,
    result_differences,
)
from domain.campaign import Campaign, compact_result
from domain.canonical import b64url_encode
from domain.derivation import derive
from domain.entries import Entry
from domain.envelope import format_timestamp, parse_uuid
from domain.errors import DomainError, NotFound, WrongState
from domain.registry import ADMIN_ACTOR_ID
from service.derivation_inputs import EventSource, load_inputs
from service.recorders import LedgerRecorder
from service.system import System, command_specs

PAGE = 512  # a multiple of LEAVES_PER_RECORD
CAMPAIGN_CREATED = get_topic(Campaign.Created)
FIRST_ENTRY_LINE = 3  # after the header and the checkpoint
HELPER_NICENESS = 10
SIGNATURE_BATCH = 256  # signatures per message to the helper: few messages, little waiting

Progress = Callable[[int, int], None]


def _quiet(done: int, total: int) -> None:
    """The default progress callback: report nothing."""


class AuditError(DomainError):
    code = "audit-error"


@dataclass(frozen=True)
class Exported:
    path: Path
    tree_size: int
    root: bytes
    campaigns: list[str]
    size_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "bundle": str(self.path),
            "tree_size": self.tree_size,
            "root": base64.b64encode(self.root).decode("ascii"),
            "campaigns": self.campaigns,
            "bytes": self.size_bytes,
        }


def rederive(source: EventSource, campaign: Campaign) -> Rederived:
    """The server's own derivation (`domain.derivation.derive`), in the form the audit compares."""
    derivation = derive(campaign, load_inputs(source, campaign))
    outcome = derivation.outcome
    return Rederived(
        proposal_hash=derivation.proposal_hash,
        results=(compact_result(r) for r in outcome.result_dicts()),
        ballots_counted=sum(counts["counted"] for counts in outcome.tally.values()),
    )


# --- export -------------------------------------------------------------------------------


def export_bundle(
    system: System, output: Path, campaign_id: str | None = None, progress: Progress = _quiet
) -> Exported:
    """Write the bundle for a freshly signed checkpoint, page by page, then move it in place."""
    app = system.app
    if campaign_id is not None and not isinstance(
        app.find(UUID(parse_uuid(campaign_id, "campaign"))), Campaign
    ):
        raise NotFound(f"no campaign {campaign_id}")
    head = system.ledger.checkpoint_now()
    if system.witnessing is not None:
        system.witnessing.cosign(head)
    header = BundleHeader(
        origin=system.settings.log_origin,
        log_public_key=b64url_encode(system.ledger.log_public_key),
        admin_key_id=next(iter(app.repository.get(ADMIN_ACTOR_ID).keys)),
        admin_actor_id=str(ADMIN_ACTOR_ID),
        tree_size=head.size,
        created_at=format_timestamp(datetime.now(UTC)),
        campaign_id=campaign_id,
    )
    partial = output.with_name(output.name + ".partial")
    try:
        out = partial.open("w", encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot write {output}: {exc.strerror}") from None
    try:
        with out:
            _write(out, header.to_json())
            _write(out, checkpoint_record(system.ledger.cosigned_note(head)))
            campaigns = []
            for record in _entries(app.ledger, head.size, progress):
                if record.get("topic") == CAMPAIGN_CREATED:
                    campaigns.append(record["stream"])
                _write(out, record)
            scope = [c for c in campaigns if campaign_id in (None, c)]
            if campaign_id is not None and not scope:
                raise NotFound(f"campaign {campaign_id} was created after the exported tree head")
            for cid in scope:
                _write(out, results_record(_published_as_of(system, UUID(cid), head.size)))
            cosigned = system.ledger.recorder.latest_cosigned_checkpoint(head.size)
            if cosigned is not None and cosigned.size < head.size:
                proof = system.ledger.consistency_proof(cosigned.size, head.size)
                _write(out, cosigned_record(system.ledger.cosigned_note(cosigned), proof))
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return Exported(output, head.size, head.root, scope, output.stat().st_size)


def _write(out: IO[str], record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def _entries(recorder: LedgerRecorder, size: int, progress: Progress) -> Iterator[dict[str, Any]]:
    """The records of entries [0, size), each run of LEAVES_PER_RECORD after a leaves
    record of their leaf hashes, one page in memory at a time.

    Why the stored leaf hashes, not ones hashed afresh from the events: an event altered
    in the store then differs from the tree's leaf, and the verifier names that entry.
    """
    for start in range(0, size, PAGE):
        stop = min(start + PAGE, size)
        rows = recorder.ledger_entries(start, stop)
        for expected, row in enumerate(rows, start=start):
            if row["index"] != expected or row["state"] is None or row["leaf_hash"] is None:
                raise AuditError(
                    f"ledger entry {expected} is missing from the store: "
                    "run `appraisal ledger verify`"
                )
        if len(rows) != stop - start:
            raise AuditError(f"ledger entries {start}…{stop - 1} are incomplete in the store")
        for first in range(0, len(rows), LEAVES_PER_RECORD):
            run = rows[first : first + LEAVES_PER_RECORD]
            yield leaves_record(start + first, [row["leaf_hash"] for row in run])
            for row in run:
                entry = Entry(row["stream"], row["version"], row["topic"], row["state"])
                yield entry_record(row["index"], entry)
        progress(stop, size)


def _published_as_of(system: System, campaign_id: UUID, size: int) -> dict[str, Any]:
    """The campaign's published results as its events within the first `size` entries left it."""
    app = system.app
    versions = [v for (_, v), index in app.positions_of([campaign_id]).items() if index < size]
    return published_results(app.at_version(campaign_id, max(versions)))


# --- verify -------------------------------------------------------------------------------


def verify_bundle(
    path: Path,
    log_public_key: bytes,
    campaign_id: str | None = None,
    progress: Progress = _quiet,
    anchors: Callable[[], Anchors] = Anchors,
) -> AuditReport:
    """Stream the bundle through the pure auditor; needs no database.

    Why the per-entry checks wait: once the tree rebuilt from the entries has the
    signed root, every entry is proven, so a first pass leaves each entry's leaf
    hash (or v1/v2 inclusion proof) unread and a helper process verifies the
    envelopes' signatures beside it. Only when that pass finds anything is the audit
    redone in one process checking each entry on its own, which names the first bad
    entry exactly as a sequential audit does; for v3, only if the bundle's leaf
    hashes lead to the signed root (`leaf_hashes_root`), since otherwise they were
    altered too. `anchors` makes the trust anchors (trusted checkpoints, witnesses)
    afresh for each pass.
    """
    if campaign_id is not None:
        parse_uuid(campaign_id, "campaign")
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    with _without_cycle_collector():
        report, suspect = _verify(
            path, log_public_key, campaign_id, progress, anchors(), first_pass=True, fork=can_fork
        )
        if report.finding is None and suspect is None:
            return report
        return _verify(
            path,
            log_public_key,
            campaign_id,
            progress,
            anchors(),
            first_pass=False,
            fork=False,
            leaves_root=_leaf_hashes_root(path),
        )[0]


def _leaf_hashes_root(path: Path) -> bytes | None:
    """The root of the leaf hashes a v3 bundle claims (None for v1 and v2, or if unreadable)."""
    try:
        with path.open("rb") as handle:
            if parse_header(handle.readline()).format in WITH_PROOFS:
                return None
            handle.readline()
            return leaf_hashes_root(handle)
    except (OSError, NotABundle):
        return None


@contextmanager
def _without_cycle_collector() -> Iterator[None]:
    """Pause Python's cycle collector for an audit.

    Why: the replay keeps many long-lived objects (the aggregates) and makes next to
    no reference cycles, so the collector's full passes over that heap freed nothing
    and cost a quarter of the run. Reference counting still frees all the rest; the
    collector resumes (if it was on) when the audit ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _verify(
    path: Path,
    log_public_key: bytes,
    campaign_id: str | None,
    progress: Progress,
    anchors: Anchors,
    *,
    first_pass: bool,
    fork: bool,
    leaves_root: bytes | None = None,
) -> tuple[AuditReport, int | None]:
    """The audit (checking each entry on its own unless `first_pass`; a v3 bundle's by
    `leaves_root`, the root of its leaf hashes), and the first line the signature helper
    (when `fork`) suspects."""
    try:
        handle = path.open("rb")
        again = path.open("rb")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    with handle, again, ExitStack() as helpers:
        header = parse_header(handle.readline())
        scope = campaign_id or header.campaign_id
        signatures = helpers.enter_context(_SignatureProcess()) if fork else None
        auditor = Auditor(
            header,
            log_public_key,
            command_specs(),
            rederive,
            None if scope is None else [scope],
            check_proofs=not first_pass,
            check_signature=verify_now if signatures is None else signatures.check,
            anchors=anchors,
            reread=_line_reader(again),
            leaf_hashes_root=leaves_root,
        )
        text = handle.readline()
        if not text:
            return auditor.finish(2), None
        auditor.feed(2, text)
        report = _feed(auditor, handle, header, progress)
        return report, None if signatures is None else signatures.first_suspect()


def _line_reader(handle: IO[bytes]) -> Callable[[int], bytes]:
    """The bundle's line at a byte offset, read again through a handle of its own."""

    def line_at(offset: int) -> bytes:
        handle.seek(offset)
        return handle.readline()

    return line_at


def _feed(
    auditor: Auditor, handle: IO[bytes], header: BundleHeader, progress: Progress
) -> AuditReport:
    """Feed the records after the checkpoint (line 3 on) until the first finding."""
    line = FIRST_ENTRY_LINE - 1
    offset = handle.tell()
    for line, text in enumerate(handle, start=FIRST_ENTRY_LINE):
        auditor.feed(line, text, offset)
        offset += len(text)
        if auditor.finding is not None:
            break
        if line % PAGE == 0:
            progress(auditor.entries, header.tree_size)
    progress(auditor.entries, header.tree_size)
    return auditor.finish(line + 1)


class _SignatureProcess:
    """A forked helper process that verifies the envelopes' signatures the auditor hands
    it, in batches, and answers at the end the first line whose signature fails.

    A helper that dies suspects the first entry, so the caller redoes the audit. It
    runs at a lower priority: the auditor's replay is the longest task, so the helper
    should take only the time it leaves.
    """

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        jobs, self._jobs = context.Pipe(duplex=False)
        self._answer, answer = context.Pipe(duplex=False)
        self._process = context.Process(target=_verify_signatures, args=(jobs, answer), daemon=True)
        self._process.start()
        jobs.close()
        answer.close()
        self._batch: list[tuple[int, bytes, bytes, str]] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._answer.close()

    def check(self, line: int, public_key: bytes, message: bytes, signature: str) -> bool:
        """Take the signature for later: the auditor carries on as if it verified."""
        self._batch.append((line, public_key, message, signature))
        if len(self._batch) == SIGNATURE_BATCH:
            self._send(self._batch)
            self._batch = []
        return True

    def first_suspect(self) -> int | None:
        """The line of the first signature handed over that does not verify."""
        self._send(self._batch)
        self._send(None)
        self._jobs.close()
        try:
            return self._answer.recv()
        except EOFError:
            return FIRST_ENTRY_LINE

    def _send(self, batch: list[tuple[int, bytes, bytes, str]] | None) -> None:
        """Hand a batch over; a helper gone away answers nothing, so the audit is redone."""
        with suppress(OSError):
            self._jobs.send(batch)


def _verify_signatures(jobs: Connection, answer: Connection) -> None:
    os.nice(HELPER_NICENESS)
    first = None
    while (batch := jobs.recv()) is not None:
        if first is None:
            first = next((job[0] for job in batch if not verify_now(*job)), None)
    answer.send(first)


# --- replay against the live store --------------------------------------------------------


@dataclass(frozen=True)
class Replayed:
    campaign_id: str
    status: str
    stored_hash: str
    computed_hash: str
    stored: list[dict[str, Any]]
    computed: list[Mapping[str, Any]]
    final_grades: dict[str, str | None]
    differences: list[ResultDifference]

    @property
    def identical(self) -> bool:
        return not self.differences and self.stored_hash == self.computed_hash

    def to_json(self) -> dict[str, Any]:
        computed = {r["appraisee_id"]: r for r in self.computed}
        return {
            "campaign_id": self.campaign_id,
            "status": self.status,
            "identical": self.identical,
            "stored_proposal_hash": self.stored_hash,
            "computed_proposal_hash": self.computed_hash,
            "appraisees": [
                {
                    "appraisee_id": r["appraisee_id"],
                    "stored": {f: r.get(f) for f in REPLAY_FIELDS},
                    "computed": {
                        f: computed.get(r["appraisee_id"], {}).get(f) for f in REPLAY_FIELDS
                    },
                    "approved_grade": self.final_grades.get(r["appraisee_id"]),
                }
                for r in self.stored
            ],
            "differences": [
                {
                    "appraisee_id": d.appraisee_id,
                    "field": d.field,
                    "stored": d.left,
                    "computed": d.right,
                }
                for d in self.differences
            ],
        }


def replay_campaign(system: System, campaign_id: str) -> Replayed:
    """Re-derive a campaign's grades from the live store and diff them against its proposal."""
    campaign = system.app.find(UUID(parse_uuid(campaign_id, "campaign")))
    if not isinstance(campaign, Campaign):
        raise NotFound(f"no campaign {campaign_id}")
    if campaign.proposal is None:
        raise WrongState(
            f"campaign {campaign_id} has no current proposal to compare (it is {campaign.status})"
        )
    derived = rederive(system.app, campaign)
    computed = list(derived.results)
    stored = campaign.proposal["results"]
    return Replayed(
        campaign_id=campaign_id,
        status=campaign.status,
        stored_hash=campaign.proposal["hash"],
        computed_hash=derived.proposal_hash,
        stored=stored,
        computed=computed,
        final_grades=campaign.final_grades(),
        differences=result_differences(stored, computed, REPLAY_FIELDS),
    )
