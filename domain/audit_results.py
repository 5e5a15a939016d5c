"""Published results and how two sets of results differ, per appraisee.

Why here: the exporter summarises what a campaign publishes, the offline
verifier summarises the same campaign from the replayed ledger, and `audit
replay` diffs stored against re-derived results; all three must agree on what
"the results" are and name a difference the same way. Pure: no I/O.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.campaign import Campaign

REPLAY_FIELDS = ("status", "score", "score_exact", "rank", "grade", "flags")
SUMMARY_FIELDS = ("campaign_id", "status", "proposal_hash", "approved", "results")


def published_results(campaign: Campaign) -> dict[str, Any]:
    """What the campaign shows as its results: its results as approved (DESIGN §3 results
    endpoint, §5 adjustments)."""
    proposal = campaign.proposal
    approved = campaign.approved
    return {
        "campaign_id": str(campaign.id),
        "status": campaign.status,
        "proposal_hash": None if proposal is None else proposal["hash"],
        "approved": None if approved is None else dict(approved),
        "results": [
            {
                "appraisee_id": r.appraisee_id,
                "category": r.computed["category"],
                "status": r.computed["status"],
                "score": r.computed["score"],
                "score_exact": r.computed["score_exact"],
                "rank": r.computed["rank"],
                "computed_grade": r.computed_grade,
                "grade": r.grade,
                "adjustment_reason": r.adjustment_reason,
                "flags": list(r.approved["flags"]),
            }
            for r in campaign.results_as_approved()
        ],
    }


@dataclass(frozen=True)
class ResultDifference:
    """One field of one appraisee's result that differs between two result lists."""

    appraisee_id: str
    field: str
    left: Any
    right: Any

    def describe(self, left: str, right: str) -> str:
        if self.field == "present":
            where = left if self.left else right
            return f"appraisee {self.appraisee_id} is listed only {where}"
        return (
            f"appraisee {self.appraisee_id}: {self.field} is {self.left!r} {left}, "
            f"{self.right!r} {right}"
        )


def result_differences(
    left: Sequence[Mapping[str, Any]],
    right: Iterable[Mapping[str, Any]],
    fields: Iterable[str] | None = None,
) -> list[ResultDifference]:
    """Differences per appraisee, in the right list's order, then those only on the left;
    all fields unless `fields`. The right side is read once, one result at a time, so a
    re-derivation's results need never be whole in memory."""
    lefts = {r["appraisee_id"]: r for r in left}
    names = None if fields is None else list(fields)
    differences = []
    seen = set()
    for b in right:
        appraisee_id = b["appraisee_id"]
        if appraisee_id in seen:
            continue
        seen.add(appraisee_id)
        a = lefts.get(appraisee_id)
        if a is None:
            differences.append(ResultDifference(appraisee_id, "present", False, True))
            continue
        differences.extend(
            ResultDifference(appraisee_id, name, a.get(name), b.get(name))
            for name in (names if names is not None else _field_order(b, a))
            if a.get(name) != b.get(name)
        )
    differences.extend(
        ResultDifference(appraisee_id, "present", True, False)
        for appraisee_id in lefts
        if appraisee_id not in seen
    )
    return differences


def summary_difference(bundle: Mapping[str, Any], ledger: Mapping[str, Any]) -> str | None:
    """The first way a bundle's results record differs from the ledger's, or None."""
    unexpected = sorted(set(bundle) - set(SUMMARY_FIELDS))
    if unexpected:
        return f"unexpected field {unexpected[0]!r}"
    for name in SUMMARY_FIELDS[:-1]:
        if bundle.get(name) != ledger.get(name):
            mine, theirs = bundle.get(name), ledger.get(name)
            return f"{name} is {mine!r} in the bundle, {theirs!r} in the ledger"
    differences = result_differences(bundle["results"], ledger["results"])
    if differences:
        return differences[0].describe("in the bundle", "in the ledger")
    return None


def _field_order(primary: Mapping[str, Any], secondary: Mapping[str, Any]) -> list[str]:
    """Fields in the order the primary result lists them, then any others, sorted."""
    return [*primary, *sorted(set(secondary) - set(primary))]
