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
        id=uuid.uuid4(),
        title="t",
        year=2021,
        rules=RULES,
        details={},
        organizer_id="organiser-1",
        envelope=ENVELOPE,
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
    campaign.name_committee("organiser-1", ["c1", "c2"], ENVELOPE)
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
        "flags": [],
        "notes": [],
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


ADJUSTMENT = {"appraisee_id": "", "grade": "basic", "reason": "履职核实发现问题"}


def approved_campaign() -> tuple[Campaign, str]:
    campaign, secretary = proposed_campaign()
    campaign.approve("c1", "h", [{**ADJUSTMENT, "appraisee_id": secretary}], {}, ENVELOPE)
    return campaign, secretary


def test_results_as_approved_show_the_adjustment_beside_the_computed_grade() -> None:
    campaign, secretary = approved_campaign()
    (result,) = campaign.results_as_approved()
    assert (result.appraisee_id, result.computed_grade, result.grade) == (
        secretary,
        "competent",
        "basic",
    )
    assert result.adjustment_reason == ADJUSTMENT["reason"]


def test_a_proposal_not_yet_approved_shows_computed_grades_and_no_final_grades() -> None:
    campaign, _ = proposed_campaign()
    (result,) = campaign.results_as_approved()
    assert (result.grade, result.adjustment, result.adjustment_reason) == ("competent", None, None)
    assert campaign.final_grades() == {}


def test_an_approval_of_another_proposal_adjusts_nothing() -> None:
    """A proposal event recorded after the approval (as a forged or replayed ledger could
    carry it, past the command's state check) leaves the old approval's adjustments out."""
    campaign, secretary = approved_campaign()
    entry = {"appraisee_id": secretary, "category": "secretary", "grade": "competent", "flags": []}
    campaign._propose("h2", [entry], {}, ENVELOPE)
    (result,) = campaign.results_as_approved()
    assert (result.grade, result.adjustment) == ("competent", None)
    assert campaign.final_grades() == {}


def test_no_current_proposal_means_no_results() -> None:
    campaign, _ = approved_campaign()
    campaign.proposal = None
    assert campaign.results_as_approved() == []
    assert campaign.final_grades() == {}


def linked_campaign() -> tuple[Campaign, str, str]:
    """A draft campaign with a secretary linked to actor "cadre-1" and a deputy with no link."""
    campaign = Campaign(
        id=uuid.uuid4(),
        title="t",
        year=2021,
        rules=RULES,
        details={},
        organizer_id="organiser-1",
        envelope=ENVELOPE,
    )
    secretary, deputy = str(uuid.uuid4()), str(uuid.uuid4())
    person = {"name": "萧平", "position": "书记", "unit": "东马社区", "category": "secretary"}
    campaign.add_appraisees(
        [
            {**person, "appraisee_id": secretary, "actor_id": "cadre-1"},
            {**person, "appraisee_id": deputy},
        ],
        ENVELOPE,
    )
    return campaign, secretary, deputy


def test_a_cadre_acts_for_their_own_appraisee() -> None:
    campaign, secretary, _ = linked_campaign()
    campaign.require_own_appraisee("cadre-1", secretary, "read")


@pytest.mark.parametrize("actor_id", ["cadre-2", "", "CADRE-1", "cadre-1 "])
def test_nobody_else_acts_for_a_linked_appraisee(actor_id: str) -> None:
    campaign, secretary, _ = linked_campaign()
    with pytest.raises(errors.WrongRole, match="may read"):
        campaign.require_own_appraisee(actor_id, secretary, "read")


def test_an_appraisee_linked_to_no_actor_is_nobody_s_own() -> None:
    campaign, _, deputy = linked_campaign()
    with pytest.raises(errors.WrongRole):
        campaign.require_own_appraisee("", deputy, "read")
    with pytest.raises(errors.WrongRole):
        campaign.require_own_appraisee("cadre-1", deputy, "read")


def test_an_appraisee_off_the_roster_is_nobody_s_own() -> None:
    campaign, _, _ = linked_campaign()
    with pytest.raises(errors.WrongRole):
        campaign.require_own_appraisee("cadre-1", str(uuid.uuid4()), "read")
