"""Each proposal's derivation, kept in the database: the breakdown behind every grade.

Why: explaining one grade needs its campaign's whole derivation (every ballot read
and scored: about 11 s at city scale). Kept in each server process, every worker on
every host paid that on its first explanation after each proposal, with an inspector
waiting. Kept here, it is computed once: by the projection worker right after it
projects the proposal, or else by the first explanation that finds none.

Content-addressed: a derivation is stored under (campaign, proposal hash) only when it
reproduces that hash, and the hash covers the whole outcome document stored. So
whichever process computes it, and whenever, the rows are the same, a stored
derivation is never stale, and a derivation that no longer reproduces its proposal
(the store changed since) is never stored.
"""

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.campaign import Campaign
from domain.derivation import Derivation, derive
from projections.schema import dumps
from projections.store import ViewStore
from service.application import AppraisalApplication
from service.derivation_inputs import load_inputs

RESULT_COLUMNS = ("campaign_id", "proposal_hash", "appraisee_id", "result")


@dataclass(frozen=True)
class Derived:
    """One appraisee's part of a derivation, as the outcome document states it."""

    proposal_hash: str  # the hash the whole derivation reproduces
    result: dict[str, Any]  # the appraisee's entry of the document's "results"
    quota_decisions: list[dict[str, Any]]


def stored(
    views: ViewStore, campaign_id: str, proposal_hash: str, appraisee_id: str
) -> Derived | None:
    with views.reading() as tx:
        row = tx.one(
            "SELECT p.quota_decisions, r.result FROM {derived_proposals} p "
            "JOIN {derived_results} r ON r.campaign_id = p.campaign_id "
            "AND r.proposal_hash = p.proposal_hash "
            "WHERE p.campaign_id = ? AND p.proposal_hash = ? AND r.appraisee_id = ?",
            campaign_id,
            proposal_hash,
            appraisee_id,
        )
    if row is None:
        return None
    return Derived(proposal_hash, json.loads(row["result"]), json.loads(row["quota_decisions"]))


def is_stored(views: ViewStore, campaign_id: str, proposal_hash: str) -> bool:
    with views.reading() as tx:
        row = tx.one(
            "SELECT 1 AS found FROM {derived_proposals} "
            "WHERE campaign_id = ? AND proposal_hash = ?",
            campaign_id,
            proposal_hash,
        )
    return row is not None


def store(views: ViewStore, campaign_id: str, derivation: Derivation) -> None:
    """Keep a derivation under the hash it reproduces; a concurrent copy is the same rows."""
    document = derivation.document
    key = (campaign_id, derivation.proposal_hash)
    with views.writing() as tx:
        tx.upsert(
            "derived_proposals",
            {
                "campaign_id": campaign_id,
                "proposal_hash": derivation.proposal_hash,
                "quota_decisions": dumps(document["quota_decisions"]),
            },
        )
        tx.executemany(
            tx.sql.upsert("derived_results", RESULT_COLUMNS),
            [(*key, r["appraisee_id"], dumps(r)) for r in document["results"]],
        )


def derive_current(app: AppraisalApplication, views: ViewStore, campaign: Campaign) -> Derivation:
    """Derive the campaign as it stands; keep the derivation if it reproduces the
    current proposal."""
    derivation = derive(campaign, load_inputs(app, campaign))
    proposal = campaign.proposal
    if proposal is not None and derivation.proposal_hash == proposal["hash"]:
        store(views, str(campaign.id), derivation)
    return derivation


def precompute(app: AppraisalApplication, views: ViewStore, campaign_id: str) -> bool:
    """Store the current proposal's derivation unless it already is; True if stored now."""
    campaign = app.find(UUID(campaign_id))
    if not isinstance(campaign, Campaign) or campaign.proposal is None:
        return False
    proposal_hash = campaign.proposal["hash"]
    if is_stored(views, campaign_id, proposal_hash):
        return False
    return derive_current(app, views, campaign).proposal_hash == proposal_hash


def derived_from(derivation: Derivation, appraisee_id: str) -> Derived | None:
    """One appraisee's part of a derivation computed in this process."""
    document = derivation.document
    result = next((r for r in document["results"] if r["appraisee_id"] == appraisee_id), None)
    if result is None:
        return None
    return Derived(derivation.proposal_hash, result, document["quota_decisions"])
