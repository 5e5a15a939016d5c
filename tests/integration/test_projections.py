"""The read side on both stores: the views follow a campaign driven by signed
commands, agree with the domain's own derivation, rebuild to identical bytes,
never answer from behind a client's own write, and hide small groups."""

import base64
import copy
import uuid
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

import projections
from domain.derivation import derive
from domain.errors import NotFound
from domain.scoring import consequences_of
from projections import queries
from projections.read_side import ReadSide
from projections.schema import TABLE
from projections.store import open_views
from service.derivation_inputs import load_inputs
from tests.support import Harness, Signer
from tests.support.scenario import RULES, CityCampaign, new_id

INSPECTOR = frozenset({"inspector"})
AUDITOR = frozenset({"auditor"})
CADRE = frozenset({"cadre"})


def expected_results(harness: Harness, campaign_id: str) -> list[dict[str, Any]]:
    """DESIGN §3.1 results straight from the domain: derive() plus the approval's adjustments."""
    campaign = harness.system.app.find(uuid.UUID(campaign_id))
    derivation = derive(campaign, load_inputs(harness.system.app, campaign))
    assert derivation.proposal_hash == campaign.proposal["hash"]
    approved = campaign.approved or {"adjustments": []}
    adjustments = {a["appraisee_id"]: a for a in approved["adjustments"]}
    labels = campaign.rules.labels()
    expected = []
    for r in derivation.outcome.to_dict()["results"]:
        who = campaign.appraisees[r["appraisee_id"]]
        item = {
            **{k: r[k] for k in ("appraisee_id", "category", "status", "score", "score_exact")},
            **{k: r[k] for k in ("rank", "grade", "flags")},
            "groups": {
                code: {k: g[k] for k in ("ballots", "score", "score_exact")}
                for code, g in r["groups"].items()
            },
        }
        adjustment = adjustments.get(r["appraisee_id"])
        if adjustment is not None:
            item["computed_grade"] = r["grade"]
            item["grade"] = adjustment["grade"]
            item["adjustment"] = {"grade": adjustment["grade"], "reason": adjustment["reason"]}
        entailed = consequences_of(
            campaign.rules,
            r["category"],
            item["grade"],
            campaign.assessments.get(r["appraisee_id"], {}),
            item["flags"],
            None if campaign.published_on is None else date.fromisoformat(campaign.published_on),
        )
        item["consequences"] = [c.to_dict() for c in entailed]
        item |= {k: who[k] for k in ("name", "position", "unit")}
        item["category_label"] = labels["categories"][r["category"]]
        item["grade_label"] = labels["grades"].get(item["grade"])
        expected.append(item)
    return expected


def sync(c: CityCampaign) -> None:
    """Small batches on purpose: batch boundaries must not change what is written."""
    projections.catch_up(c.h.read, batch_size=5)


def approve_with_adjustment(c: CityCampaign) -> str:
    """Close, propose and approve, moving the last appraisee one grade down (a lower grade
    always meets its threshold, which an adjustment must)."""
    proposal = c.close_and_propose()
    campaign = c.h.system.app.find(uuid.UUID(c.id))
    last = next(r for r in campaign.proposal["results"] if r["appraisee_id"] == c.appraisees[3])
    order = [g.code for g in campaign.rules.grades_for(last["category"])]
    assert last["grade"] != order[-1], "the scenario needs a grade to move down from"
    grade = order[order.index(last["grade"]) + 1]
    c.send(
        c.committee,
        "results.approve",
        proposal_hash=proposal["proposal_hash"],
        adjustments=[
            {"appraisee_id": c.appraisees[3], "grade": grade, "reason": "经党委会研究调整"}
        ],
    )
    return grade


@pytest.fixture
def campaign(harness: Harness) -> CityCampaign:
    c = CityCampaign(harness)
    c.set_up()
    c.open()
    return c


def test_results_equal_the_domain_derivation_with_adjustments(campaign: CityCampaign) -> None:
    c = campaign
    c.vote()
    sync(c)
    grade = approve_with_adjustment(c)
    sync(c)

    read = c.h.read
    shown = queries.results(read, c.id, roles=INSPECTOR)
    assert shown["status"] == "approved"
    assert shown["results"] == expected_results(c.h, c.id)
    adjusted = next(r for r in shown["results"] if r["appraisee_id"] == c.appraisees[3])
    assert adjusted["grade"] == grade and adjusted["adjustment"]["grade"] == grade
    assert adjusted["computed_grade"] != grade
    assert (
        queries.results(read, c.id, roles=INSPECTOR, limit=2, offset=1)["results"]
        == (shown["results"][1:3])
    )


def test_ballots_receipts_reconciliation_and_explanation(campaign: CityCampaign) -> None:
    c = campaign
    c.vote()
    closed = c.send(c.organizer, "balloting.close", meeting_id=c.meeting).result
    sync(c)
    read, ledger = c.h.read, c.h.system.ledger

    listed = queries.ballots(read, c.id, roles=INSPECTOR, limit=None)
    assert listed["total"] == len(c.ballots)
    by_id = {b["ballot_id"]: b for b in listed["items"]}
    for ballot in c.ballots:
        shown = queries.ballot_by_receipt(read, ballot.ballot_id, roles=CADRE)
        index = read.app.ledger.position_of(uuid.UUID(ballot.ballot_id), 1)
        assert shown["ledger_index"] == index
        assert shown["leaf_hash"] == base64.b64encode(ledger.leaf_hash(index)).decode()
        assert "signer" not in shown
        anonymous = ballot.group in ("resident_rep", "unit_rep")
        assert ("signer" in by_id[ballot.ballot_id]) is not anonymous
    assert {b["status"] for b in listed["items"]} == {"valid", "invalid"}
    invalid = queries.ballots(read, c.id, roles=CADRE, status="invalid")["items"]
    assert [b["reason"] for b in invalid] == ["excess_choice_share:excellent"]

    [meeting] = queries.reconciliation(read, c.id)["items"]
    assert meeting["status"] == "closed"
    assert meeting["recorded"] == closed["reconciliation"]
    assert meeting["checkpoint"] == closed["checkpoint"]
    for code, counts in meeting["groups"].items():
        recorded = closed["reconciliation"][code]
        assert counts == {k: recorded[k] for k in counts}

    proposal = c.send(c.organizer, "results.propose").result
    sync(c)
    appraisee = c.appraisees[0]
    stored = read.app.find(uuid.UUID(c.id))
    derived = derive(stored, load_inputs(read.app, stored)).outcome.result(appraisee)
    told = queries.explanation(read, c.id, appraisee, roles=AUDITOR)
    assert told["consistent"] and told["proposal_hash"] == proposal["proposal_hash"]
    assert told["grade"]["proof"]["event"] == "Campaign.ResultsProposed"
    shown = queries.results(read, c.id, roles=AUDITOR)["results"]
    [own] = [r for r in shown if r["appraisee_id"] == appraisee]
    assert told["score"]["score_exact"] == own["score_exact"]
    for code, group in told["groups"].items():
        used = [row["ballot_id"] for row in group["rows_used"]]
        assert used == [row.ballot_id for row in derived.groups[code].rows_used]
        for row in group["rows_used"] + group["rows_excluded"]:
            assert row["ledger_index"] == by_id[row["ballot_id"]]["ledger_index"]
            assert row["leaf_hash"] == by_id[row["ballot_id"]]["leaf_hash"]
            assert row["envelope"]["command"]["ballot_id"] == row["ballot_id"]
            assert ("signer" in row) is (code not in ("resident_rep", "unit_rep"))
    cadre_view = queries.explanation(read, c.id, appraisee, roles=CADRE)
    rows = [r for g in cadre_view["groups"].values() for r in g.get("rows_used", [])]
    assert rows and all("envelope" not in r and "signer" not in r for r in rows)
    with pytest.raises(NotFound):
        queries.explanation(read, c.id, new_id(), roles=CADRE)


def test_upheld_dispute_voids_a_ballot_and_withdraws_the_results(campaign: CityCampaign) -> None:
    c = campaign
    c.vote()
    approve_with_adjustment(c)
    dispute = c.lodge_dispute()
    resolved = c.uphold_dispute(dispute)
    [voided] = resolved.result["voided"]
    read = c.h.read

    with pytest.raises(queries.ProjectionBehind):
        queries.results(read, c.id, roles=CADRE, min_position=resolved.position, timeout=0.1)
    sync(c)
    withdrawn = queries.results(read, c.id, roles=CADRE, min_position=resolved.position)
    assert withdrawn["status"] == "reopened" and withdrawn["results"] == []
    ballot = queries.ballot_by_receipt(read, voided, roles=CADRE)
    assert ballot["status"] == "voided" and ballot["reason"] == "经核实该票为代填，予以作废"
    assert ballot["voided"]["dispute_id"] == dispute
    [meeting] = queries.reconciliation(read, c.id)["items"]
    residents, recorded = meeting["groups"]["resident_rep"], meeting["recorded"]["resident_rep"]
    assert residents["voided"] == recorded["voided"] + 1
    assert residents["counted"] == recorded["counted"] - 1
    [shown] = queries.disputes(read, c.id, roles=INSPECTOR)["items"]
    assert shown["status"] == "upheld" and shown["voided_ballots"] == [voided]
    assert shown["lodged_by"] == c.cadres[3].actor_id
    assert "lodged_by" not in queries.disputes(read, c.id, roles=CADRE)["items"][0]

    second = c.send(c.organizer, "results.propose").result
    c.send(c.committee, "results.approve", proposal_hash=second["proposal_hash"], adjustments=[])
    sync(c)
    again = queries.results(read, c.id, roles=INSPECTOR)
    assert again["status"] == "approved"
    assert again["results"] == expected_results(c.h, c.id)


def test_rebuild_from_zero_is_byte_identical(campaign: CityCampaign) -> None:
    c = campaign
    c.send(
        c.cadres[0],
        "report.submit",
        appraisee_id=c.appraisees[0],
        parts=[{"code": "annual", "text": "一年来，我坚持学习，认真履职。"}],
    )
    c.send(c.organizer, "report.return", appraisee_id=c.appraisees[0], comments="请补充")
    sync(c)
    c.vote()
    sync(c)
    approve_with_adjustment(c)
    sync(c)
    read = c.h.read
    incremental = projections.content_hashes(read)
    assert projections.rebuild(read) == c.h.size
    first = projections.content_hashes(read)
    projections.rebuild(read, batch_size=1000)
    assert projections.content_hashes(read) == first == incremental
    assert queries.projection_lag(read)["behind"] == 0
    [report] = queries.reports(read, c.id)["items"]
    assert report["status"] == "returned" and report["comments"] == ["请补充"]


def register(harness: Harness, role: str) -> tuple[Signer, int]:
    """A new actor, and the ledger position its registration returned."""
    person = Signer()
    accepted = harness.submit(
        harness.admin.envelope(
            "actor.register",
            actor_id=person.actor_id,
            name=role,
            roles=[role],
            public_key=person.public_key,
        )
    )
    return person, accepted.position


def test_read_your_writes_waits_for_the_position_or_refuses(harness: Harness) -> None:
    read = harness.read
    projections.catch_up(read)
    _, position = register(harness, "cadre")
    with pytest.raises(queries.ProjectionBehind) as behind:
        queries.actors(read, min_position=position, timeout=0.2)
    assert behind.value.code == "projection-behind"
    with pytest.raises(queries.ProjectionBehind):
        queries.campaigns(read, min_position=harness.size + 10, timeout=0.05)

    runner = projections.ProjectionThread(read, poll_interval=0.05).start()
    try:
        organizer, position = register(harness, "organizer")
        found = queries.actors(read, role="organizer", min_position=position, timeout=5)
    finally:
        runner.stop()
    assert [a["actor_id"] for a in found["items"]] == [organizer.actor_id]


def test_anonymity_floor_hides_small_groups_except_from_inspectors(harness: Harness) -> None:
    rules = copy.deepcopy(RULES)
    unit_rep = next(g for g in rules["groups"] if g["code"] == "unit_rep")
    unit_rep["anonymity_floor"] = 4  # three unit representatives vote: too few to show
    c = CityCampaign(harness)
    c.set_up(rules)
    c.open()
    c.vote()
    c.close_and_propose()
    sync(c)
    read, appraisee = harness.read, c.appraisees[1]

    for_cadre = queries.results(read, c.id, roles=CADRE)["results"]
    assert all(r["groups"]["unit_rep"] == {"hidden": True} for r in for_cadre)
    # Shielded: no group score and no exact total that would give the hidden group away.
    for result in for_cadre:
        assert all(g == {"hidden": True} for g in result["groups"].values())
        assert result["score_exact"] is None and result["score"] is not None
    for_inspector = queries.results(read, c.id, roles=INSPECTOR)["results"]
    assert all(r["groups"]["unit_rep"]["ballots"] == 3 for r in for_inspector)
    explained = queries.explanation(read, c.id, appraisee, roles=CADRE)
    assert all(g == {"hidden": True} for g in explained["groups"].values())
    assert explained["score"]["score_exact"] is None
    told = queries.explanation(read, c.id, appraisee, roles=INSPECTOR)["groups"]["unit_rep"]
    assert len(told["rows_used"]) == 3


def test_overdue_rectification_items_and_revoked_keys(harness: Harness) -> None:
    c = CityCampaign(harness)
    c.set_up()
    plan = new_id()
    c.h.submit(
        c.organizer.envelope(
            "rectification.create",
            plan_id=plan,
            campaign_id=c.id,
            appraisee_id=c.appraisees[3],
            items=[
                {"item_id": "1", "description": "走访居民不少于100户", "deadline": "2026-03-31"},
                {"item_id": "2", "description": "整改台账", "deadline": "2026-06-30"},
            ],
        )
    )
    replacement = Signer()
    c.h.submit(
        c.cadres[3].envelope(
            "actor.rotate_key",
            actor_id=c.cadres[3].actor_id,
            old_key_id=c.cadres[3].key_id,
            public_key=replacement.public_key,
        )
    )
    sync(c)
    read = harness.read

    april = queries.rectifications(read, today=date(2026, 4, 1), campaign_id=c.id)
    [shown] = april["items"]
    assert shown["overdue"] == ["1"] and april["overdue_items"] == 1
    assert [i["overdue"] for i in shown["items"]] == [True, False]
    july = queries.rectifications(read, today=date(2026, 7, 1), overdue_only=True)
    assert july["overdue_items"] == 2 and [p["plan_id"] for p in july["items"]] == [plan]
    march = queries.rectifications(read, today=date(2026, 3, 1), overdue_only=True)
    assert march["items"] == [] and march["overdue_items"] == 0

    cadres = queries.actors(read, role="cadre")["items"]
    rotated = next(a for a in cadres if a["actor_id"] == c.cadres[3].actor_id)
    assert [(k["key_id"], k["revoked"]) for k in rotated["keys"]] == [
        (c.cadres[3].key_id, True),
        (replacement.key_id, False),
    ]


def test_views_of_an_older_declaration_are_rebuilt_when_a_process_opens_them(
    campaign: CityCampaign,
) -> None:
    """An upgrade that adds a view column: the tables an older release wrote (here the
    ballots table without its last column, under another fingerprint) are dropped and
    rebuilt from zero on open, so no read meets a missing column."""
    c = campaign
    c.vote()
    sync(c)
    read = c.h.read
    before = projections.content_hashes(read)
    ballots = TABLE["ballots"]
    with read.views.writing() as tx:
        tx.cursor.execute(read.views.sql.drop(ballots))
        older = replace(ballots, columns=ballots.columns[:-1])
        for statement in read.views.sql.create(older):
            tx.cursor.execute(statement)
        tx.execute("UPDATE {schema} SET fingerprint = ?", "an older release")
    reopened = open_views(c.h.system.app)
    assert reopened.position().notification_id == 0, "the views start again from zero"
    projections.catch_up(ReadSide(c.h.system.app, reopened, None))
    assert reopened.content_hashes() == before
    open_views(c.h.system.app)
    assert reopened.position().notification_id > 0, "the same declaration is kept as it is"


def test_a_roster_added_in_batches_is_in_roster_order(harness: Harness) -> None:
    """Each addition writes only the appraisees it adds, after those already there."""
    c = CityCampaign(harness)
    c.send(
        c.organizer,
        "campaign.create",
        title="2026年度社区干部述职评议",
        year=c.year,
        rules=RULES,
        jurisdiction="某市",
        period={"start": "2026-01-07", "end": "2026-01-17"},
    )
    batches = [[new_id() for _ in range(size)] for size in (3, 1, 2)]
    for number, batch in enumerate(batches):
        c.send(
            c.organizer,
            "campaign.add_appraisees",
            appraisees=[
                {"appraisee_id": a, "name": f"干部{number}-{i}", "position": "社区居委会委员",
                 "unit": "东马社区", "category": "cadre"}
                for i, a in enumerate(batch)
            ],
        )  # fmt: skip
        sync(c)
    with c.h.read.views.reading() as tx:
        rows = tx.all("SELECT appraisee_id, seq, name FROM {roster} WHERE campaign_id = ?", c.id)
    expected = [a for batch in batches for a in batch]
    assert sorted((r["seq"], r["appraisee_id"]) for r in rows) == list(enumerate(expected))
    incremental = projections.content_hashes(c.h.read)
    projections.rebuild(c.h.read)
    assert projections.content_hashes(c.h.read) == incremental
