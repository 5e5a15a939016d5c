"""Rewriting audit bundle records as a log operator holding the log key could: the
per-entry claims (v3 leaves records, v1/v2 inclusion proofs) recomputed from the entries."""

import base64
from typing import Any

from domain import merkle
from domain.audit_bundle import LEAVES_PER_RECORD, WITH_PROOFS, leaves_record
from domain.entries import Entry
from domain.tree_check import TreeRebuilder

Records = list[dict[str, Any]]


def entries(records: Records) -> Records:
    return [r for r in records if r["type"] == "entry"]


def leaf_hash_at(records: Records, index: int) -> dict[str, Any]:
    """The leaves record giving entry `index`'s leaf hash, and where in it."""
    for record in records:
        if record["type"] == "leaves" and 0 <= index - record["start"] < len(record["hashes"]):
            return record
    raise KeyError(index)


def set_leaf_hash(records: Records, index: int, value: Any) -> None:
    record = leaf_hash_at(records, index)
    record["hashes"][index - record["start"]] = value


def reprove(records: Records) -> bytes:
    """Renumber the entries and give them the leaves records (v3) or inclusion proofs (v1,
    v2) of the tree of the entries as they now are; that tree's root."""
    items = entries(records)
    tree = TreeRebuilder()
    nodes: dict[merkle.NodeId, bytes] = {}
    leaves = [merkle.leaf_hash(Entry.from_json(item).leaf_input()) for item in items]
    for leaf in leaves:
        nodes.update(tree.add(leaf))
    with_proofs = records[0]["format"] in WITH_PROOFS
    for index, item in enumerate(items):
        item.pop("proof", None)
        item["index"] = index
        if with_proofs:
            proof = merkle.resolve(merkle.inclusion_plan(index, len(items)), nodes)
            item["proof"] = [base64.b64encode(p).decode() for p in proof]
    rest = [r for r in records if r["type"] != "leaves"]
    if not with_proofs:
        for start in range(0, len(items), LEAVES_PER_RECORD):
            at = next(n for n, r in enumerate(rest) if r is items[start])
            rest.insert(at, leaves_record(start, leaves[start : start + LEAVES_PER_RECORD]))
    records[:] = rest
    return tree.root()


def as_format(records: Records, bundle_format: str) -> Records:
    """The same bundle written in another format (the checkpoint stays valid)."""
    records[0]["format"] = bundle_format
    reprove(records)
    return records
