"""Campaign invariants that need no store: the aggregate refuses them by itself."""

import json
import uuid
from pathlib import Path

import pytest

from domain import errors
from domain.campaign import Campaign

RULES = json.loads((Path(__file__).parents[2] / "service/rulesets/seed002_dazehu.json").read_text())
ENVELOPE = {"command": {}, "signer": "0" * 32, "signature": ""}


def proposed_campaign() -> tuple[Campaign, str]:
    secretary = str(uuid.uuid4())
    campaign = Campaign(
        id=uuid.uuid4(), title="t", year=2021, rules=RULES, details={}, envelope=ENVELOPE
    )
    campaign.add_appraisees(
        [
            {
                "appraisee_id": secretary,
                "name": "萧平",
                "position": "书记",
                "unit": "东马社区",
                "category": "secretary",
            }
        ],
        ENVELOPE,
    )
    campaign.publish(ENVELOPE)
    campaign.record_assessment(secretary, "party_building", "fairly_good", ENVELOPE)
    campaign.open_meeting("m", ENVELOPE)
    campaign.close_meeting("m", ENVELOPE)
    result = {
        "appraisee_id": secretary,
        "category": "secretary",
        "status": "complete",
        "score": "88.00",
        "score_exact": "88/1",
        "grade": "competent",
    }
    campaign.propose("h", [result], {}, ENVELOPE)
    return campaign, secretary


def test_adjustment_cannot_break_a_linked_rule() -> None:
    campaign, secretary = proposed_campaign()
    with pytest.raises(errors.RuleViolation, match="不得评定为“优秀”"):
        campaign.approve(
            "c1",
            "h",
            [{"appraisee_id": secretary, "grade": "excellent", "reason": "表现突出"}],
            {},
            ENVELOPE,
        )


def test_adjustment_within_the_linked_cap_is_accepted() -> None:
    campaign, secretary = proposed_campaign()
    campaign.approve(
        "c1",
        "h",
        [{"appraisee_id": secretary, "grade": "basic", "reason": "履职核实发现问题"}],
        {},
        ENVELOPE,
    )
    assert campaign.final_grades() == {secretary: "basic"}


def test_only_the_current_proposal_can_be_approved() -> None:
    campaign, _ = proposed_campaign()
    with pytest.raises(errors.Conflict):
        campaign.approve("c1", "stale", [], {}, ENVELOPE)


def test_roster_is_frozen_after_publication() -> None:
    campaign, _ = proposed_campaign()
    with pytest.raises(errors.WrongState):
        campaign.add_appraisees([], ENVELOPE)
