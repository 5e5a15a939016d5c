"""`appraisal ledger verify`: recompute the ledger from the stored events.

Every leaf is recomputed from its stored event, every stored node from its
children, every checkpoint's signature and root from the recomputed tree. The
report names the first bad position; a clean report is the only success.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from domain import checkpoint, merkle
from domain.entries import Entry
from domain.tree_check import TreeRebuilder
from service.recorders import LedgerRecorder

PAGE = 4096


@dataclass(frozen=True)
class Finding:
    position: int
    problem: str

    def __str__(self) -> str:
        return f"position {self.position}: {self.problem}"


@dataclass
class Report:
    size: int = 0
    checkpoints: int = 0
    root: bytes = merkle.EMPTY_ROOT
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return min(self.findings, key=lambda f: f.position, default=None)


def verify_ledger(
    recorder: LedgerRecorder,
    log_public_key: bytes,
    origin: str,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> Report:
    size = recorder.ledger_size()
    report = Report(size=size)
    pending = _checked_checkpoints(recorder, log_public_key, origin, size, report)
    tree = TreeRebuilder()
    previous_notification = 0
    for start in range(0, size, PAGE):
        rows = recorder.ledger_entries(start, min(start + PAGE, size))
        computed: dict[merkle.NodeId, bytes] = {}
        for row in rows:
            position = tree.size
            if row["index"] != position:
                report.findings.append(Finding(position, "ledger leaf is missing"))
                return report
            if row["state"] is None:
                report.findings.append(
                    Finding(position, f"stored event #{row['notification_id']} is missing")
                )
                return report
            if row["notification_id"] <= previous_notification:
                report.findings.append(Finding(position, "leaf is out of the store's order"))
                return report
            previous_notification = row["notification_id"]
            entry = Entry(row["stream"], row["version"], row["topic"], row["state"])
            leaf = merkle.leaf_hash(entry.leaf_input())
            if row["leaf_hash"] != leaf:
                report.findings.append(
                    Finding(
                        position, "stored event does not match its leaf hash (altered or swapped)"
                    )
                )
                return report
            computed.update(tree.add(leaf))
            while pending and pending[0].size == tree.size:
                stored = pending.pop(0)
                if stored.root != tree.root():
                    report.findings.append(
                        Finding(stored.size, "checkpoint root differs from the recomputed tree")
                    )
        if len(rows) < min(PAGE, size - start):
            report.findings.append(Finding(tree.size, "ledger leaf is missing"))
            return report
        bad_node = _first_bad_node(recorder, computed)
        if bad_node is not None:
            report.findings.append(bad_node)
            return report
        progress(tree.size, size)
    report.root = tree.root()
    missing = recorder.unledgered_event()
    if missing is not None:
        report.findings.append(
            Finding(size, f"stored event {missing[0]}@{missing[1]} has no ledger leaf")
        )
    return report


def _checked_checkpoints(
    recorder: LedgerRecorder, log_public_key: bytes, origin: str, size: int, report: Report
) -> list:
    valid = []
    for stored in recorder.checkpoints():
        report.checkpoints += 1
        try:
            signed = checkpoint.verify_checkpoint(stored.note, origin, log_public_key)
        except checkpoint.CheckpointError as exc:
            report.findings.append(Finding(stored.size, f"checkpoint rejected: {exc}"))
            continue
        if (signed.size, signed.root, signed.origin) != (stored.size, stored.root, origin):
            report.findings.append(Finding(stored.size, "checkpoint note differs from its row"))
        elif stored.size > size:
            report.findings.append(Finding(size, f"checkpoint covers {stored.size} leaves"))
        elif stored.size == 0:
            if stored.root != merkle.EMPTY_ROOT:
                report.findings.append(Finding(0, "empty checkpoint with a non-empty root"))
        else:
            valid.append(stored)
    return valid


def _first_bad_node(
    recorder: LedgerRecorder, computed: dict[merkle.NodeId, bytes]
) -> Finding | None:
    by_level: dict[int, list[int]] = {}
    for level, index in computed:
        if level:
            by_level.setdefault(level, []).append(index)
    for level, indexes in sorted(by_level.items()):
        stored = recorder.level_nodes(level, min(indexes), max(indexes) + 1)
        for index in sorted(indexes):
            if stored.get(index) != computed[(level, index)]:
                return Finding(index << level, f"stored tree node ({level}, {index}) is wrong")
    return None
