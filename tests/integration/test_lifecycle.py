"""A whole campaign as signed commands on both stores: set-up, reports, balloting with
named, anonymous and paper ballots, proposal, k-of-n approval, publication, a dispute
upheld and the re-approval, finalisation, feedback and rectification."""

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain import errors, merkle, scoring
from domain.campaign import compact_results
from domain.rules import parse_rules
from tests.support import Harness, Signer
from tests.support.scenario import DIMENSIONS, RULES, CityCampaign, new_id


@pytest.fixture
def campaign(harness: Harness) -> CityCampaign:
    c = CityCampaign(harness)
    c.set_up()
    c.open()
    return c


def refused(c: CityCampaign, error, who: Signer, command_type: str, **fields) -> None:
    before = c.h.size
    with pytest.raises(error):
        c.send(who, command_type, **fields)
    assert c.h.size == before


def refused_ballot(c: CityCampaign, error, who: Signer, group: str, rows) -> None:
    """A ballot signed as the scenario signs it (a credential's at the meeting's opening)."""
    before = c.h.size
    with pytest.raises(error):
        c.transport.accept(c.ballot(who, group, rows))
    assert c.h.size == before


def test_whole_campaign_lifecycle(campaign: CityCampaign) -> None:
    c = campaign
    cadre, appraisee = c.cadres[0], c.appraisees[0]
    c.send(
        cadre,
        "report.submit",
        appraisee_id=appraisee,
        parts=[{"code": "annual", "text": "一年来，我坚持学习，认真履职。"}],
    )
    c.send(c.organizer, "report.return", appraisee_id=appraisee, comments="请补充整改情况")
    c.send(
        cadre,
        "report.submit",
        appraisee_id=appraisee,
        parts=[{"code": "annual", "text": "一年来，我坚持学习，认真履职，整改到位。"}],
    )
    c.send(c.organizer, "report.accept", appraisee_id=appraisee)

    c.vote()
    refused_ballot(
        c,
        errors.WrongState,
        c.residents[0],
        "resident_rep",
        c.choices("competent", "competent", "competent", "competent"),
    )
    refused(
        c,
        errors.UnknownKey,
        Signer(),
        "ballot.cast",
        meeting_id=c.meeting,
        ballot_id=new_id(),
        group="resident_rep",
        rows=c.choices("competent", "competent", "competent", "competent"),
    )
    refused(
        c,
        errors.RuleViolation,
        c.leaders[0],
        "ballot.cast",
        meeting_id=c.meeting,
        ballot_id=new_id(),
        group="leading_group",
        rows=c.choices("competent", "competent", "competent", "competent"),
    )
    refused(c, errors.WrongState, c.organizer, "results.propose")

    closed = c.send(c.organizer, "balloting.close", meeting_id=c.meeting).result
    residents = closed["reconciliation"]["resident_rep"]
    assert residents["issued"] == 9 and residents["cast"] == 8 and residents["unused"] == 1
    assert residents["valid"] == 7 and residents["invalid"] == 1
    assert residents["abstentions"] == 1
    for counts in closed["reconciliation"].values():
        assert counts["issued"] == counts["cast"] + counts["unused"]
        assert counts["cast"] == counts["valid"] + counts["invalid"]
    assert closed["checkpoint"]["tree_size"] <= c.h.size
    refused_ballot(
        c,
        errors.WrongState,
        c.residents[7],
        "resident_rep",
        c.choices("competent", "competent", "competent", "competent"),
    )

    proposal = c.send(c.organizer, "results.propose").result
    expected = scoring.score(
        scoring.ScoringInput(
            rules=parse_rules(RULES),
            appraisees=[scoring.Appraisee(a, "cadre") for a in c.appraisees],
            ballots=c.ballots,
        )
    )
    stored = c.h.system.app.find(uuid.UUID(c.id)).proposal
    assert stored["hash"] == proposal["proposal_hash"]
    # The in-memory derivation knows no signers or ledger positions; all else is equal.
    assert stored["results"] == compact_results(expected.result_dicts())
    assert all(r.status == "complete" for r in expected.results)

    refused(
        c,
        errors.WrongRole,
        c.cadres[1],
        "results.approve",
        proposal_hash=proposal["proposal_hash"],
        adjustments=[],
    )
    refused(
        c, errors.Conflict, c.committee, "results.approve", proposal_hash="0" * 64, adjustments=[]
    )
    refused(
        c,
        errors.MalformedCommand,
        c.committee,
        "results.approve",
        proposal_hash=proposal["proposal_hash"],
        adjustments=[{"appraisee_id": c.appraisees[3], "grade": "competent", "reason": " "}],
    )
    refused(
        c,
        errors.RuleViolation,
        c.committee,
        "results.approve",
        proposal_hash=proposal["proposal_hash"],
        adjustments=[{"appraisee_id": c.appraisees[3], "grade": "top", "reason": "x"}],
    )
    approved = c.send(
        c.committee,
        "results.approve",
        proposal_hash=proposal["proposal_hash"],
        adjustments=[
            {
                "appraisee_id": c.appraisees[3],
                "grade": "competent",
                "reason": "经党委会研究，考虑其全年实绩，调整为称职",
            }
        ],
    )
    assert approved.result["status"] == "approved"
    c.send(c.h.admin, "results.publish", window_days=0)

    dispute = c.lodge_dispute()
    refused(c, errors.WrongState, c.h.admin, "results.finalize")
    resolved = c.uphold_dispute(dispute)
    assert resolved.result["status"] == "reopened"
    refused(
        c,
        errors.WrongState,
        c.committee,
        "results.approve",
        proposal_hash=proposal["proposal_hash"],
        adjustments=[],
    )

    second = c.send(c.organizer, "results.propose").result
    assert second["proposal_hash"] != proposal["proposal_hash"]
    c.send(c.committee, "results.approve", proposal_hash=second["proposal_hash"], adjustments=[])
    c.send(c.h.admin, "results.publish", window_days=0)
    finalized = c.send(c.h.admin, "results.finalize")
    assert finalized.result["status"] == "finalized"
    c.send(c.cadres[3], "feedback.acknowledge", appraisee_id=c.appraisees[3])
    refused(c, errors.WrongRole, c.cadres[2], "feedback.acknowledge", appraisee_id=c.appraisees[3])

    plan = new_id()
    c.h.submit(
        c.organizer.envelope(
            "rectification.create",
            plan_id=plan,
            campaign_id=c.id,
            appraisee_id=c.appraisees[3],
            items=[
                {"item_id": "1", "description": "走访居民不少于100户", "deadline": "2026-03-31"}
            ],
        )
    )
    c.h.submit(
        c.cadres[3].envelope(
            "rectification.progress", plan_id=plan, item_id="1", note="已走访120户", done=True
        )
    )
    c.h.submit(
        c.inspector.envelope(
            "rectification.check", plan_id=plan, item_id="1", passed=True, note="回头看：属实"
        )
    )
    c.h.submit(c.organizer.envelope("rectification.close", plan_id=plan))


def test_quorum_is_required_to_open_balloting(harness: Harness) -> None:
    c = CityCampaign(harness)
    c.set_up()
    before = harness.size
    with pytest.raises(errors.RuleViolation, match="quorum"):
        c.send(
            c.organizer,
            "balloting.open",
            meeting_id=new_id(),
            credentials=[
                {
                    "group": "unit_rep",
                    "public_keys": [k.public_key for k in c.units[:2]],
                }
            ],
            evaluators=[{"group": "leading_group", "actor_ids": [s.actor_id for s in c.leaders]}],
        )
    assert harness.size == before


def test_rules_are_frozen_after_publication(campaign: CityCampaign) -> None:
    refused(campaign, errors.WrongState, campaign.organizer, "campaign.amend", title="改名")


def test_late_window_blocks_finalisation(campaign: CityCampaign) -> None:
    c = campaign
    c.vote()
    proposal = c.close_and_propose()
    c.send(c.committee, "results.approve", proposal_hash=proposal["proposal_hash"], adjustments=[])
    c.send(c.h.admin, "results.publish", window_days=5)
    refused(c, errors.WrongState, c.h.admin, "results.finalize")
    later = datetime.now(UTC) + timedelta(days=6)
    c.h.system.bus.clock = lambda: later
    c.h.submit(c.h.admin.envelope("results.finalize", campaign_id=c.id, issued_at=later))


def run_year(c: CityCampaign) -> dict:
    """A year in which appraisee 3 is rated incompetent by every group."""
    c.set_up()
    c.open()
    for leader in c.leaders:
        c.cast(
            leader,
            "leading_group",
            [
                {"appraisee_id": a, "scores": dict.fromkeys(DIMENSIONS, 40 if i == 3 else 85)}
                for i, a in enumerate(c.appraisees)
            ],
        )
    low = c.choices("competent", "competent", "competent", "incompetent")
    c.cast(c.city_leader, "city_leaders", low)
    for i, cadre in enumerate(c.cadres):
        c.cast(cadre, "self", [{"appraisee_id": c.appraisees[i], "choice": "competent"}])
    for key in c.units:
        c.cast(key, "unit_rep", low)
    for key in c.residents:
        c.cast(key, "resident_rep", low)
    proposal = c.close_and_propose()
    c.send(c.committee, "results.approve", proposal_hash=proposal["proposal_hash"], adjustments=[])
    c.send(c.h.admin, "results.publish", window_days=0)
    c.send(c.h.admin, "results.finalize")
    campaign = c.h.system.app.find(uuid.UUID(c.id))
    return {r["appraisee_id"]: r for r in campaign.proposal["results"]}


def test_incompetent_two_years_running_is_flagged_for_disposal(harness: Harness) -> None:
    first = CityCampaign(harness, year=2024)
    earlier = run_year(first)
    assert earlier[first.appraisees[3]]["grade"] == "incompetent"
    assert "disposal_review" not in earlier[first.appraisees[3]]["flags"]
    second = CityCampaign(harness, year=2025, cadres=first.cadres)
    later = run_year(second)
    assert later[second.appraisees[3]]["grade"] == "incompetent"
    assert "disposal_review" in later[second.appraisees[3]]["flags"]
    assert all("disposal_review" not in later[a]["flags"] for a in second.appraisees[:3])


def test_ballot_receipt_is_proved_and_replayed(campaign: CityCampaign) -> None:
    c = campaign
    envelope = c.leaders[0].envelope(
        "ballot.cast",
        campaign_id=c.id,
        meeting_id=c.meeting,
        ballot_id=new_id(),
        group="leading_group",
        rows=[{"appraisee_id": a, "scores": dict.fromkeys(DIMENSIONS, 80)} for a in c.appraisees],
    )
    first = c.h.submit(envelope)
    receipt = first.result["receipt"]
    ledger = c.h.system.ledger
    size = ledger.size()
    leaf = base64.b64decode(receipt["leaf_hash"])
    merkle.verify_inclusion(
        leaf,
        receipt["ledger_index"],
        size,
        ledger.inclusion_proof(receipt["ledger_index"], size),
        ledger.root(size),
    )
    again = c.h.submit(envelope)
    assert again.replayed and again.to_json() == first.to_json()
