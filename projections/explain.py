"""Why an appraisee got their grade, step by step down to the signed ballots.

grade ← score ← group scores ← individual ballots ← their envelopes. The grade,
the adjustment and the score come from the results view (the proposal and
approval events); the breakdown comes from `domain.derivation.derive`, the one
derivation the proposal, `audit replay` and this read side share, with each
ballot's ledger index and leaf hash from the ballots view. Every step names the
ledger index of the event that proves it, so a reader can fetch that entry and
its inclusion proof against a signed checkpoint.

Deriving a campaign reads all its ballots, so each proposal's derivation is kept in
the database (`projections.derivations`), usually computed by the projection worker
before anyone asks; the explanation reads one appraisee's part of it.
"""

import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any, cast
from uuid import UUID

from domain.campaign import Campaign
from domain.errors import NotFound
from projections.access import (
    DEFAULT_WAIT_SECONDS,
    campaign_row,
    disclosure,
    floors,
    privileged,
    ready,
    uuid_text,
)
from projections.derivations import Derived, derive_current, derived_from, stored
from projections.read_side import ReadSide
from projections.store import ViewStore
from service.application import AppraisalApplication

CHUNK = 500
ROW_LISTS = ("rows_used", "rows_trimmed", "rows_excluded")


def explanation(
    read: ReadSide,
    campaign_id: str,
    appraisee_id: str,
    *,
    roles: Collection[str],
    min_position: int | None = None,
    timeout: float = DEFAULT_WAIT_SECONDS,
) -> dict[str, Any]:
    """The explanation of one appraisee's current result.

    Returns `{"campaign_id", "appraisee_id", "category", "campaign_status",
    "proposal_hash", "derivation_hash", "consistent", "grade", "score", "groups",
    "meetings"}`: `grade` {grade, computed_grade, grade_before_rules, adjustment,
    quota, notes, proof}, `score` {status, score, score_exact, rank, weights,
    proof}, `groups` {code: {weight, ballots, score, score_exact, missing,
    rows_used, rows_trimmed, rows_excluded} | {"hidden": true}} where each row is
    {ballot_id, ledger_index, leaf_hash, score_exact | reason} and, for inspectors
    and auditors, the ballot's `envelope` (and `signer` in named groups). A
    `proof` is {ledger_index, event}; `meetings` lists each meeting's closing
    position and the checkpoint its tally rests on. `consistent` says whether the
    derivation reproduces the proposal's hash.
    """
    views = ready(read, min_position, timeout)
    campaign = campaign_row(views, campaign_id)
    appraisee_id = uuid_text(appraisee_id, "appraisee")
    with views.reading() as tx:
        result = tx.one(
            "SELECT * FROM {results} WHERE campaign_id = ? AND appraisee_id = ?",
            campaign["campaign_id"],
            appraisee_id,
        )
        meetings = tx.all(
            "SELECT meeting_id, closed_position, checkpoint FROM {meetings} "
            "WHERE campaign_id = ? ORDER BY opened_position",
            campaign["campaign_id"],
        )
    if result is None:
        raise NotFound(f"appraisee {appraisee_id} has no current result in this campaign")
    derived = _derived(read, views, campaign, appraisee_id)
    groups = derived.result["groups"]
    group_rules = {g["code"]: g for g in json.loads(campaign["group_rules"])}
    shown = disclosure(groups, floors(campaign), roles)
    visible = {code: group for code, group in groups.items() if code in shown.groups}
    ballot_ids = [row["ballot_id"] for group in visible.values() for row in _rows(group)]
    receipts = _leaf_hashes(views, ballot_ids)
    envelopes = _envelopes(read.app, ballot_ids) if privileged(roles) else {}

    def row_json(ref: Mapping[str, Any], anonymous: bool) -> dict[str, Any]:
        ballot_id = ref["ballot_id"]
        row: dict[str, Any] = {
            "ballot_id": ballot_id,
            "ledger_index": ref["position"],
            "leaf_hash": receipts.get(ballot_id),
            **{k: ref[k] for k in ("score_exact", "reason") if k in ref},
        }
        if ballot_id in envelopes:
            row["envelope"] = envelopes[ballot_id]
            if not anonymous:
                row["signer"] = ref["signer"]
        return row

    def group_json(code: str) -> dict[str, Any]:
        if code not in visible:
            return {"hidden": True}
        group, anonymous = visible[code], group_rules[code]["anonymous"]
        return {
            "weight": derived.result["weights"].get(code),
            **{k: group[k] for k in ("ballots", "score", "score_exact", "missing")},
            **{name: [row_json(ref, anonymous) for ref in group[name]] for name in ROW_LISTS},
        }

    return {
        "campaign_id": campaign["campaign_id"],
        "appraisee_id": appraisee_id,
        "category": result["category"],
        "campaign_status": campaign["status"],
        "proposal_hash": campaign["proposal_hash"],
        "derivation_hash": derived.proposal_hash,
        "consistent": derived.proposal_hash == campaign["proposal_hash"],
        "grade": _grade_step(campaign, result, derived),
        "score": {
            "status": result["status"],
            "score": result["score"] if shown.rounded_total else None,
            "score_exact": result["score_exact"] if shown.exact_total else None,
            "rank": result["rank"],
            "weights": derived.result["weights"],
            "proof": _proof(campaign["proposal_position"], "Campaign.ResultsProposed"),
            "checkpoint": json.loads(campaign["proposal_checkpoint"]),
        },
        "groups": {code: group_json(code) for code in sorted(groups)},
        "meetings": [
            {
                "meeting_id": m["meeting_id"],
                "closed_position": m["closed_position"],
                "checkpoint": None if m["checkpoint"] is None else json.loads(m["checkpoint"]),
            }
            for m in meetings
        ],
    }


def _grade_step(
    campaign: Mapping[str, Any], result: Mapping[str, Any], derived: Derived
) -> dict[str, Any]:
    own = derived.result
    quota = next(
        (
            {k: d[k] for k in ("grade", "quota", "reason")}
            for d in derived.quota_decisions
            if d["category"] == own["category"] and d["grade"] == own["grade_before_rules"]
        ),
        None,
    )
    approved = campaign["approval_position"] is not None
    return {
        "grade": result["grade"],
        "computed_grade": result["computed_grade"],
        "grade_before_rules": own["grade_before_rules"],
        "adjustment": (
            None
            if result["adjustment_grade"] is None
            else {"grade": result["adjustment_grade"], "reason": result["adjustment_reason"]}
        ),
        "quota": quota,
        "notes": json.loads(result["notes"]),
        "proof": (
            _proof(campaign["approval_position"], "Campaign.ApprovalSigned")
            if approved
            else _proof(campaign["proposal_position"], "Campaign.ResultsProposed")
        ),
    }


def _proof(ledger_index: int | None, event: str) -> dict[str, Any]:
    return {"ledger_index": ledger_index, "event": event}


def _rows(group: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    return (row for name in ROW_LISTS for row in group[name])


def _derived(
    read: ReadSide,
    views: ViewStore,
    campaign: Mapping[str, Any],
    appraisee_id: str,
) -> Derived:
    """The appraisee's part of the current proposal's derivation: stored (as `views`
    show it), or derived now (and stored on the primary, if it reproduces the proposal)."""
    campaign_id = campaign["campaign_id"]
    found = stored(views, campaign_id, campaign["proposal_hash"], appraisee_id)
    if found is None:
        campaign_now = read.app.get(UUID(campaign_id), Campaign)
        derivation = derive_current(read.app, read.views, campaign_now)
        found = derived_from(derivation, appraisee_id)
    if found is None:
        raise NotFound(f"appraisee {appraisee_id} is not in the campaign's derivation")
    return found


def _leaf_hashes(views: ViewStore, ballot_ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    with views.reading() as tx:
        for start in range(0, len(ballot_ids), CHUNK):
            chunk = ballot_ids[start : start + CHUNK]
            rows = tx.all(
                "SELECT ballot_id, leaf_hash FROM {ballots} "
                f"WHERE ballot_id IN ({', '.join('?' * len(chunk))})",
                *chunk,
            )
            found.update((row["ballot_id"], row["leaf_hash"]) for row in rows)
    return found


def _envelopes(app: AppraisalApplication, ballot_ids: list[str]) -> dict[str, Any]:
    """Each ballot's signed envelope as stored in its Cast event (version 1)."""
    stored = app.ledger.events_of(UUID(b) for b in ballot_ids)
    return {
        str(event.originator_id): cast(Any, app.mapper.to_domain_event(event)).envelope
        for event in stored
        if event.originator_version == 1
    }
