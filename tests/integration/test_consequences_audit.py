"""A campaign whose consequences were acted on stays provable: the interview recorded by
`consequence.interview` and the plan answering a 限期整改 pass `audit verify` and
`audit replay` on both stores, and a stored interview that differs from its signed
command is named."""

import copy
from pathlib import Path

from tests.integration.test_audit import cli, export, verify
from tests.integration.test_counted_signed import change, first, run, topic
from tests.support import Harness
from tests.support.scenario import RULES, CityCampaign, new_id

RULES_WITH_INTERVIEWS = copy.deepcopy(RULES) | {
    "consequences": [
        {"kind": "interview", "grade": "incompetent"},
        {"kind": "rectify", "grade": "incompetent", "within_days": 30},
    ]
}


def acted_on(harness: Harness) -> CityCampaign:
    c = CityCampaign(harness)
    c.set_up(RULES_WITH_INTERVIEWS)
    c.open()
    c.vote()
    proposal = c.close_and_propose()
    last = c.appraisees[3]
    c.send(
        c.committee,
        "results.approve",
        proposal_hash=proposal["proposal_hash"],
        adjustments=[{"appraisee_id": last, "grade": "incompetent", "reason": "研究确定"}],
    )
    c.send(c.h.admin, "results.publish", window_days=5)
    c.send(c.organizer, "consequence.interview", appraisee_id=last, note="约谈提醒")
    c.send(
        c.organizer,
        "rectification.create",
        plan_id=new_id(),
        appraisee_id=last,
        items=[{"item_id": "1", "description": "整改", "deadline": "2027-01-31"}],
    )
    return c


def test_acted_on_consequences_pass_the_audit(harness: Harness, tmp_path: Path) -> None:
    c = acted_on(harness)
    records = export(harness, tmp_path / "bundle.jsonl")
    code, report = verify(harness, tmp_path / "bundle.jsonl")
    assert code == 0, report
    replay = cli(harness, "audit", "replay", c.id, "--json")
    assert replay.exit_code == 0, replay.output

    tampered = copy.deepcopy(records)
    interview = change(
        first(tampered, topic("Campaign.InterviewRecorded")),
        lambda state: state.update(held_on="2020-01-01"),
    )
    code, report = run(harness, tmp_path / "tampered.jsonl", tampered)
    bad = report["first_bad"]
    assert code == 1 and (bad["index"], bad["field"]) == (interview["index"], "held_on"), bad
