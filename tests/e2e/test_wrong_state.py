"""Every campaign refusal for the wrong state is a 409 `wrong-state` problem over HTTP
(issue 13 item 2: each was a 500, `problem()` receiving `status` twice), writes
nothing, and says what state the campaign is in and which would have allowed it."""

from typing import Any

from flask.testing import FlaskClient

from tests.e2e.conftest import assert_problem
from tests.support import Harness, Signer
from tests.support.http import Api, HttpCampaign
from tests.support.scenario import RULES, new_id


def refuse(c: HttpCampaign, who: Signer, command_type: str, **fields: Any) -> dict[str, Any]:
    before = c.api.harness.size
    body = assert_problem(c.post(who, command_type, **fields), 409, "wrong-state")
    assert c.api.harness.size == before
    return body


def test_every_campaign_wrong_state_refusal_is_a_409_problem(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    second = api.register("committee", name="党委委员")
    c.set_up({**RULES, "approval": {"min_signatures": 2}})
    # Added after publication: counts once an inspector countersigns the addition.
    c.send(c.organizer, "campaign.name_committee", actor_ids=[second.actor_id])
    c.send(c.inspector, "campaign.countersign_committee", actor_ids=[second.actor_id])

    body = refuse(c, c.organizer, "campaign.publish")
    assert (body["campaign_status"], body["allowed"]) == ("published", ["draft"])
    refuse(c, c.organizer, "campaign.amend", title="改名")
    newcomer = {
        "appraisee_id": new_id(),
        "name": "新人",
        "position": "社区居委会委员",
        "unit": "东马社区",
        "category": "community",
    }
    refuse(c, c.organizer, "campaign.add_appraisees", appraisees=[newcomer])
    grounds = "第一，票数有误；\n第二，\t附件见后。"  # free text: tab and newline allowed
    lodge = {"appraisee_id": c.appraisees[3], "grounds": grounds}
    body = refuse(c, c.cadres[3], "dispute.lodge", dispute_id=new_id(), **lodge)
    assert body["campaign_status"] == "published"

    c.open()
    c.vote()
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    proposal = c.send(c.organizer, "results.propose")["proposal_hash"]
    makeup = {
        "meeting_id": new_id(),
        "credentials": [
            {"group": group, "public_keys": [Signer().public_key for _ in range(n)]}
            for group, n in (("resident_rep", 8), ("unit_rep", 3))
        ],
        "evaluators": [
            {"group": "leading_group", "actor_ids": [s.actor_id for s in c.leaders]},
            {"group": "city_leaders", "actor_ids": [c.city_leader.actor_id]},
            {"group": "self", "actor_ids": [s.actor_id for s in c.cadres]},
        ],
    }
    refuse(c, c.organizer, "balloting.open", **makeup)

    c.send(c.committee, "results.approve", proposal_hash=proposal, adjustments=[])
    body = refuse(c, harness.admin, "results.publish", window_days=0)  # 1 of k = 2
    assert (body["campaign_status"], body["allowed"]) == ("proposed", ["approved"])
    c.send(second, "results.approve", proposal_hash=proposal, adjustments=[])
    c.send(harness.admin, "results.publish", window_days=0)
    refuse(c, harness.admin, "results.publish", window_days=0)

    dispute = new_id()
    c.send(c.cadres[3], "dispute.lodge", dispute_id=dispute, **lodge)
    voided = c.first_valid("resident_rep")
    c.send(
        c.inspector,
        "dispute.resolve",
        dispute_id=dispute,
        decision="upheld",
        reason="经核实\n予以作废",
        void_ballots=[voided],
    )
    body = refuse(c, c.committee, "results.approve", proposal_hash=proposal, adjustments=[])
    assert (body["campaign_status"], body["allowed"]) == ("reopened", ["proposed"])
