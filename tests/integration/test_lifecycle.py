"""A whole campaign as signed commands on both stores: set-up, reports, balloting with
named, anonymous and paper ballots, proposal, k-of-n approval, publication, a dispute
upheld and the re-approval, finalisation, feedback and rectification."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import errors, merkle, scoring
from domain.balloting import parse_rows
from domain.ballots import Ballot
from domain.campaign import compact_results
from domain.rules import parse_rules
from tests.support import Harness, Signer

RULES = json.loads((Path(__file__).parents[2] / "service/rulesets/seed000_city.json").read_text())
DIMENSIONS = ("morality", "ability", "diligence", "performance", "integrity")


def new_id() -> str:
    return str(uuid.uuid4())


class Campaign:
    """Drives one campaign through the command bus as its participants would."""

    def __init__(
        self,
        harness: Harness,
        year: int = 2025,
        cadres: list[Signer] | None = None,
        rules: dict | None = None,
    ) -> None:
        self.h = harness
        self.year = year
        self.rules = RULES if rules is None else rules
        self.id = new_id()
        self.meeting = new_id()
        self.organizer = harness.register("organizer", name="组织部")
        self.committee = harness.register("committee", name="党委会")
        self.inspector = harness.register("inspector", name="纪检")
        self.teller = harness.register("teller", name="计票员")
        self.leaders = [harness.register("evaluator", name=f"领导{i}") for i in range(3)]
        self.city_leader = harness.register("evaluator", name="包片市级领导")
        self.cadres = cadres or [harness.register("cadre", name=f"干部{i}") for i in range(4)]
        self.appraisees = [new_id() for _ in self.cadres]
        self.residents = [Ed25519PrivateKey.generate() for _ in range(8)]
        self.units = [Ed25519PrivateKey.generate() for _ in range(3)]
        self.ballots: list[Ballot] = []

    def send(self, who: Signer, command_type: str, **fields):
        return self.h.submit(who.envelope(command_type, campaign_id=self.id, **fields))

    def set_up(self) -> None:
        self.send(
            self.organizer,
            "campaign.create",
            title=f"{self.year}年度社区干部述职评议",
            year=self.year,
            rules=self.rules,
            jurisdiction="某市",
            period={"start": "2026-01-07", "end": "2026-01-17"},
        )
        self.send(
            self.organizer,
            "campaign.add_appraisees",
            appraisees=[
                {
                    "appraisee_id": a,
                    "name": f"干部{i}",
                    "position": "社区党支部书记",
                    "unit": "东马社区",
                    "category": "cadre",
                    "actor_id": cadre.actor_id,
                }
                for i, (a, cadre) in enumerate(zip(self.appraisees, self.cadres, strict=True))
            ],
        )
        self.send(self.organizer, "campaign.name_committee", actor_ids=[self.committee.actor_id])
        self.send(self.organizer, "campaign.publish")

    def open(self) -> None:
        def public(key):
            return Signer(key=key).public_key

        self.send(
            self.organizer,
            "balloting.open",
            meeting_id=self.meeting,
            credentials=[
                {"group": "resident_rep", "public_keys": [public(k) for k in self.residents]},
                {"group": "unit_rep", "public_keys": [public(k) for k in self.units]},
            ],
            paper=[{"group": "resident_rep", "serials": ["R-0001"]}],
            evaluators=[
                {"group": "leading_group", "actor_ids": [s.actor_id for s in self.leaders]},
                {"group": "city_leaders", "actor_ids": [self.city_leader.actor_id]},
                {"group": "self", "actor_ids": [c.actor_id for c in self.cadres]},
            ],
        )

    def cast(self, who: Signer, group: str, rows: list[dict], **extra):
        ballot_id = new_id()
        accepted = self.send(
            who,
            "ballot.cast",
            meeting_id=self.meeting,
            ballot_id=ballot_id,
            group=group,
            rows=rows,
            **extra,
        )
        self.ballots.append(Ballot(ballot_id, group, parse_rows(rows)))
        return accepted

    def lodge_dispute(self) -> str:
        """Cadre 3 disputes a resident ballot; returns the dispute id."""
        dispute = new_id()
        self.send(
            self.cadres[3],
            "dispute.lodge",
            dispute_id=dispute,
            appraisee_id=self.appraisees[3],
            grounds="居民代表票存在代填",
        )
        return dispute

    def uphold_dispute(self, dispute: str):
        """The inspector upholds it and voids the first resident ballot."""
        ballot = next(b.ballot_id for b in self.ballots if b.group == "resident_rep")
        return self.send(
            self.inspector,
            "dispute.resolve",
            dispute_id=dispute,
            decision="upheld",
            reason="经核实该票为代填，予以作废",
            void_ballots=[ballot],
        )

    def close_and_propose(self) -> dict:
        """Close the meeting's balloting and propose results; returns the proposal's result."""
        self.send(self.organizer, "balloting.close", meeting_id=self.meeting)
        return self.send(self.organizer, "results.propose").result

    def choices(self, *codes: str) -> list[dict]:
        return [
            {"appraisee_id": a, "choice": c} for a, c in zip(self.appraisees, codes, strict=True)
        ]

    def vote(self) -> None:
        for n, leader in enumerate(self.leaders):
            self.cast(
                leader,
                "leading_group",
                [
                    {"appraisee_id": a, "scores": dict.fromkeys(DIMENSIONS, 90 - 5 * i + n)}
                    for i, a in enumerate(self.appraisees)
                ],
            )
        self.cast(
            self.city_leader,
            "city_leaders",
            self.choices("excellent", "competent", "competent", "incompetent"),
        )
        for i, cadre in enumerate(self.cadres):
            self.cast(cadre, "self", [{"appraisee_id": self.appraisees[i], "choice": "competent"}])
        for key in self.units:
            self.cast(
                Signer(key=key),
                "unit_rep",
                self.choices("excellent", "competent", "competent", "competent"),
            )
        for key in self.residents[:6]:
            self.cast(
                Signer(key=key),
                "resident_rep",
                self.choices("competent", "excellent", "competent", "incompetent"),
            )
        # Too many 优秀 (2 of 4 rows > 30%): recorded, but invalid.
        self.cast(
            Signer(key=self.residents[6]),
            "resident_rep",
            self.choices("excellent", "excellent", "competent", "competent"),
        )
        self.cast(
            self.teller,
            "resident_rep",
            [
                *self.choices("competent", "competent", "competent", "competent")[:3],
                {"appraisee_id": self.appraisees[3], "abstain": True},
            ],
            paper_serial="R-0001",
        )


@pytest.fixture
def campaign(harness: Harness) -> Campaign:
    c = Campaign(harness)
    c.set_up()
    c.open()
    return c


def refused(c: Campaign, error, who: Signer, command_type: str, **fields) -> None:
    before = c.h.size
    with pytest.raises(error):
        c.send(who, command_type, **fields)
    assert c.h.size == before


def test_whole_campaign_lifecycle(campaign: Campaign) -> None:
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
    refused(
        c,
        errors.WrongState,
        Signer(key=c.residents[0]),
        "ballot.cast",
        meeting_id=c.meeting,
        ballot_id=new_id(),
        group="resident_rep",
        rows=c.choices("competent", "competent", "competent", "competent"),
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
    refused(
        c,
        errors.WrongState,
        Signer(key=c.residents[7]),
        "ballot.cast",
        meeting_id=c.meeting,
        ballot_id=new_id(),
        group="resident_rep",
        rows=c.choices("competent", "competent", "competent", "competent"),
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
    assert stored["results"] == compact_results(expected.to_dict())
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
    c = Campaign(harness)
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
                    "public_keys": [Signer(key=k).public_key for k in c.units[:2]],
                }
            ],
            evaluators=[{"group": "leading_group", "actor_ids": [s.actor_id for s in c.leaders]}],
        )
    assert harness.size == before


def test_rules_are_frozen_after_publication(campaign: Campaign) -> None:
    refused(campaign, errors.WrongState, campaign.organizer, "campaign.amend", title="改名")


def test_late_window_blocks_finalisation(campaign: Campaign) -> None:
    c = campaign
    c.vote()
    proposal = c.close_and_propose()
    c.send(c.committee, "results.approve", proposal_hash=proposal["proposal_hash"], adjustments=[])
    c.send(c.h.admin, "results.publish", window_days=5)
    refused(c, errors.WrongState, c.h.admin, "results.finalize")
    later = datetime.now(UTC) + timedelta(days=6)
    c.h.system.bus.clock = lambda: later
    c.h.submit(c.h.admin.envelope("results.finalize", campaign_id=c.id, issued_at=later))


def run_year(c: Campaign) -> dict:
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
        c.cast(Signer(key=key), "unit_rep", low)
    for key in c.residents:
        c.cast(Signer(key=key), "resident_rep", low)
    proposal = c.close_and_propose()
    c.send(c.committee, "results.approve", proposal_hash=proposal["proposal_hash"], adjustments=[])
    c.send(c.h.admin, "results.publish", window_days=0)
    c.send(c.h.admin, "results.finalize")
    campaign = c.h.system.app.find(uuid.UUID(c.id))
    return {r["appraisee_id"]: r for r in campaign.proposal["results"]}


def test_incompetent_two_years_running_is_flagged_for_disposal(harness: Harness) -> None:
    first = Campaign(harness, year=2024)
    earlier = run_year(first)
    assert earlier[first.appraisees[3]]["grade"] == "incompetent"
    assert "disposal_review" not in earlier[first.appraisees[3]]["flags"]
    second = Campaign(harness, year=2025, cadres=first.cadres)
    later = run_year(second)
    assert later[second.appraisees[3]]["grade"] == "incompetent"
    assert "disposal_review" in later[second.appraisees[3]]["flags"]
    assert all("disposal_review" not in later[a]["flags"] for a in second.appraisees[:3])


def test_ballot_receipt_is_proved_and_replayed(campaign: Campaign) -> None:
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
