"""The projection worker's batch query, on both stores: the batch's leaves are bounded
first (by the leaves' own index, the limit inside), and the events and leaf hashes are
then looked up per leaf, so a batch costs the same however long the log has grown."""

import json
from typing import Any

from projections.worker import SELECT_EVENTS
from tests.integration.test_lifecycle import test_whole_campaign_lifecycle as whole_lifecycle
from tests.support import Harness
from tests.support.scenario import CityCampaign


def _relations(node: dict[str, Any]) -> set[str]:
    found = {node["Relation Name"]} if "Relation Name" in node else set()
    for child in node.get("Plans", []):
        found |= _relations(child)
    return found


def _limits(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node] if node["Node Type"] == "Limit" else []
    for child in node.get("Plans", []):
        found += _limits(child)
    return found


def _scans_of(node: dict[str, Any], relation: str) -> list[dict[str, Any]]:
    found = [node] if node.get("Relation Name") == relation else []
    for child in node.get("Plans", []):
        found += _scans_of(child, relation)
    return found


def test_a_batch_bounds_its_leaves_before_joining(harness: Harness) -> None:
    c = CityCampaign(harness)
    c.set_up()
    c.open()
    whole_lifecycle(c)
    views = harness.read.views
    with views.reading() as tx:
        if harness.system.settings.is_postgres:
            [row] = tx.all("EXPLAIN (FORMAT JSON) " + SELECT_EVENTS, 0, 200)
            plan = row["QUERY PLAN"]
            plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
            limits = _limits(plan)
            assert len(limits) == 1 and _relations(limits[0]) == {"ledger_leaves"}
            assert _relations(plan) == {"ledger_leaves", "appraisal_events", "ledger_nodes"}
            # Each leaf's hash is one primary-key lookup: joined instead, PostgreSQL
            # hashed every leaf node of the log once per batch (16 ms at 34k entries).
            [nodes] = _scans_of(plan, "ledger_nodes")
            assert nodes["Node Type"] in ("Index Scan", "Index Only Scan"), nodes
            assert nodes["Index Name"] == "ledger_nodes_pkey"
        else:
            rows = tx.all("EXPLAIN QUERY PLAN " + SELECT_EVENTS, 0, 200)
            details = [r["detail"] for r in rows]
            assert details[0] == "MATERIALIZE l"
            assert details[1].startswith("SEARCH ledger_leaves USING")
            assert details[1].endswith("(notification_id>?)")
            assert "SEARCH e USING INTEGER PRIMARY KEY (rowid=?)" in details
            assert "SEARCH n USING PRIMARY KEY (level=? AND node_index=?)" in details
            assert "CORRELATED SCALAR SUBQUERY 1" in details
            # The only scan is of the bounded batch itself.
            assert [d for d in details if d.startswith("SCAN")] == ["SCAN l"]
