"""A whole campaign over HTTP only, on both stores: signed envelopes in, projections
out, every receipt and grade checked back to the ledger without trusting the server."""

import base64
import json
import re
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from flask.testing import FlaskClient

from domain import checkpoint, keys, merkle
from domain.canonical import b64url_decode
from domain.envelope import parse_envelope
from tests.e2e.conftest import assert_problem, b64decode
from tests.support import Harness, Signer
from tests.support.http import Api, HttpCampaign
from tests.support.scenario import new_id

RESULTS_KEYS = {"campaign_id", "status", "results", "proposal_hash", "page"}
RESULT_KEYS = {
    "appraisee_id",
    "category",
    "status",
    "score",
    "score_exact",
    "rank",
    "grade",
    "flags",
    "consequences",
    "groups",
    # Names and labels beside the ids (…/appraisees, test_names_in_reads).
    "name",
    "position",
    "unit",
    "category_label",
    "grade_label",
}
ADJUSTED_KEYS = {"computed_grade", "adjustment"}
SCORE = re.compile(r"^\d+\.\d{2}$")
EXACT = re.compile(r"^\d+/\d+$")


def rounded(exact: str) -> str:
    """DESIGN §5 step 7: half up to 2 decimals, for display."""
    hundredths = int(Fraction(exact) * 100 + Fraction(1, 2))
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def verify_in_signed_tree(api: Api, index: int, leaf_hash: str) -> int:
    """Check a leaf against the signed checkpoint with an inclusion proof; the tree size."""
    note = api.get("/api/v1/ledger/checkpoint").get_data(as_text=True)
    log_key = b64url_decode(api.harness.init_result["log_public_key"])
    head = checkpoint.verify_checkpoint(note, api.harness.system.settings.log_origin, log_key)
    assert head.size > index
    proof = api.get("/api/v1/ledger/proofs/inclusion", index=index, tree_size=head.size)
    path = [b64decode(node) for node in proof.get_json()["proof"]]
    merkle.verify_inclusion(b64decode(leaf_hash), index, head.size, path, head.root)
    return head.size


def ledger_state(api: Api, reader: Signer, index: int) -> dict[str, Any]:
    """A leaf's stored state, as an inspector or auditor reads it (DESIGN §6)."""
    [entry] = api.get("/api/v1/ledger/entries", reader, start=index, limit=1).get_json()["entries"]
    return json.loads(base64.b64decode(entry["state"]))


def check_receipts(api: Api, c: HttpCampaign) -> None:
    """Each receipt as its evaluator would check it: no login, no identity, in the tree."""
    invalid = [b for b, cast in c.casts.items() if not cast["valid"]]
    assert len(invalid) == 1
    assert c.casts[invalid[0]]["reason"] == "excess_choice_share:excellent"
    for ballot_id, cast in c.casts.items():
        shown = api.read(f"/api/v1/ballots/{ballot_id}")
        assert shown["ledger_index"] == cast["receipt"]["ledger_index"]
        assert shown["leaf_hash"] == cast["receipt"]["leaf_hash"]
        assert shown["status"] == ("valid" if cast["valid"] else "invalid")
        assert "signer" not in shown
        verify_in_signed_tree(api, shown["ledger_index"], shown["leaf_hash"])


def check_reconciliation(api: Api, c: HttpCampaign) -> None:
    [meeting] = api.read(f"{c.path}/reconciliation", c.cadres[0])["items"]
    assert meeting["status"] == "closed"
    residents = meeting["groups"]["resident_rep"]
    assert (residents["issued"], residents["cast"], residents["unused"]) == (9, 8, 1)
    assert (residents["valid"], residents["invalid"], residents["abstentions"]) == (7, 1, 1)
    for counts in meeting["groups"].values():
        assert counts["issued"] == counts["cast"] + counts["unused"]
        assert counts["cast"] == counts["valid"] + counts["invalid"]
    assert meeting["recorded"] == meeting["groups"]


def check_results(api: Api, c: HttpCampaign, adjusted: str, reason: str) -> dict[str, Any]:
    """DESIGN §3.1 exactly, plus the adjustment beside the computed grade."""
    results = api.read(f"{c.path}/results", c.cadres[1])
    assert set(results) == RESULTS_KEYS
    assert (results["campaign_id"], results["status"]) == (c.id, "finalized")
    assert {r["appraisee_id"] for r in results["results"]} == set(c.appraisees)
    for result in results["results"]:
        assert RESULT_KEYS <= set(result) <= RESULT_KEYS | ADJUSTED_KEYS
        assert result["status"] == "complete"
        assert SCORE.match(result["score"]) and EXACT.match(result["score_exact"])
        assert result["score"] == rounded(result["score_exact"])
        for group in result["groups"].values():
            assert set(group) == {"ballots", "score", "score_exact"}
            assert group["score"] == rounded(group["score_exact"])
    by_id = {r["appraisee_id"]: r for r in results["results"]}
    assert by_id[adjusted]["grade"] == "excellent"
    assert by_id[adjusted]["computed_grade"] == "competent"
    assert by_id[adjusted]["adjustment"] == {"grade": "excellent", "reason": reason}
    assert all(set(r) == RESULT_KEYS for a, r in by_id.items() if a != adjusted)
    return by_id[adjusted]


def public_keys(api: Api, c: HttpCampaign) -> dict[str, bytes]:
    """Key id → raw public key: actors from the registry, credentials as issued."""
    actors = api.read("/api/v1/actors", c.inspector, limit=1000)["items"]
    found = {k["key_id"]: k["public_key"] for actor in actors for k in actor["keys"]}
    found |= {s.key_id: s.public_key for s in (*c.residents, *c.units)}
    return {key_id: keys.decode_public_key(text) for key_id, text in found.items()}


def walk_explanation(api: Api, c: HttpCampaign, appraisee: str, result: dict[str, Any]) -> None:
    """grade ← score ← group scores ← ballots ← envelopes, each step checked by hand."""
    told = api.read(f"{c.path}/results/{appraisee}/explanation", c.inspector)
    assert told["consistent"] is True
    grade = told["grade"]
    assert (grade["grade"], grade["computed_grade"]) == ("excellent", "competent")
    assert grade["adjustment"] == result["adjustment"]
    approval = ledger_state(api, c.inspector, grade["proof"]["ledger_index"])
    assert approval["envelope"]["command"]["type"] == "results.approve"

    score = told["score"]
    assert score["score_exact"] == result["score_exact"]
    total = sum(
        Fraction(weight) * Fraction(told["groups"][code]["score_exact"])
        for code, weight in score["weights"].items()
    )
    assert total == Fraction(score["score_exact"])

    signers = public_keys(api, c)
    for code, group in told["groups"].items():
        used = [Fraction(row["score_exact"]) for row in group["rows_used"]]
        assert sum(used) / len(used) == Fraction(group["score_exact"])
        assert group["ballots"] == result["groups"][code]["ballots"]
        for row in (*group["rows_used"], *group["rows_excluded"]):
            envelope = row["envelope"]
            assert envelope["command"]["ballot_id"] == row["ballot_id"]
            parse_envelope(envelope).verify(signers[envelope["signer"]])
            assert ledger_state(api, c.inspector, row["ledger_index"])["envelope"] == envelope
            assert row["leaf_hash"] == api.read(f"/api/v1/ballots/{row['ballot_id']}")["leaf_hash"]
    resident_rows = told["groups"]["resident_rep"]["rows_used"]
    assert all("signer" not in row for row in resident_rows)
    assert {row["signer"] for row in told["groups"]["leading_group"]["rows_used"]} == {
        leader.key_id for leader in c.leaders
    }


def rectify(api: Api, c: HttpCampaign, appraisee: str, cadre: Signer) -> None:
    plan = new_id()
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    c.send(
        c.organizer,
        "rectification.create",
        plan_id=plan,
        appraisee_id=appraisee,
        items=[{"item_id": "1", "description": "走访居民不少于100户", "deadline": yesterday}],
    )
    api.send(
        cadre, "rectification.progress", plan_id=plan, item_id="1", note="已走访120户", done=True
    )
    overdue = api.read("/api/v1/rectifications", c.organizer, overdue_only="true")
    assert [p["plan_id"] for p in overdue["items"]] == [plan]
    assert overdue["overdue_items"] == 1 and overdue["today"] == date.today().isoformat()
    api.send(
        c.inspector, "rectification.check", plan_id=plan, item_id="1", passed=True, note="属实"
    )
    api.send(c.organizer, "rectification.close", plan_id=plan)

    assert api.read("/api/v1/rectifications", c.organizer, overdue_only="true")["total"] == 0
    [shown] = api.read("/api/v1/rectifications", cadre, campaign_id=c.id)["items"]
    assert shown["closed"] is True and shown["appraisee_id"] == appraisee
    [item] = shown["items"]
    assert (item["status"], item["overdue"]) == ("verified", False)
    assert [p["note"] for p in item["progress"]] == ["已走访120户"]
    assert [(k["passed"], k["note"]) for k in item["checks"]] == [(True, "属实")]


def debrief(api: Api, c: HttpCampaign, cadre: Signer, appraisee: str) -> None:
    """A report returned with comments, resubmitted and accepted, then published."""
    parts = [{"code": "annual", "text": "一年来，我坚持学习，认真履职。"}]
    c.send(cadre, "report.submit", appraisee_id=appraisee, parts=parts)
    c.send(c.organizer, "report.return", appraisee_id=appraisee, comments="请补充整改情况")
    parts = [{"code": "annual", "text": "一年来，我坚持学习，认真履职，整改到位。"}]
    c.send(cadre, "report.submit", appraisee_id=appraisee, parts=parts)
    c.send(c.organizer, "report.accept", appraisee_id=appraisee)
    [report] = api.read(f"{c.path}/reports", c.leaders[0])["items"]
    assert (report["status"], report["comments"], report["parts"]) == (
        "accepted",
        ["请补充整改情况"],
        parts,
    )


def uphold_a_dispute(api: Api, c: HttpCampaign) -> str:
    """A cadre disputes their result; the inspector voids a resident ballot. The voided id."""
    dispute = c.lodge_dispute()
    voided = c.first_valid("resident_rep")
    resolved = c.uphold_dispute(dispute)
    assert (resolved["status"], resolved["voided"]) == ("reopened", [voided])
    assert api.read(f"{c.path}/results", c.cadres[1])["results"] == []
    receipt = api.read(f"/api/v1/ballots/{voided}")
    assert receipt["status"] == "voided" and receipt["voided"]["dispute_id"] == dispute

    listed = api.read(f"{c.path}/ballots", c.inspector, limit=1000)
    assert listed["total"] == len(c.casts)
    assert {b["status"] for b in listed["items"]} == {"valid", "invalid", "voided"}
    named = {b["group"] for b in listed["items"] if "signer" in b}
    assert named == {"leading_group", "city_leaders", "self"}
    [shown] = api.read(f"{c.path}/ballots", c.organizer, status="voided")["items"]
    assert shown["ballot_id"] == voided and "signer" not in shown

    [shown] = api.read(f"{c.path}/disputes", c.inspector)["items"]
    assert (shown["status"], shown["lodged_by"]) == ("upheld", c.cadres[3].actor_id)
    assert "lodged_by" not in api.read(f"{c.path}/disputes", c.cadres[3])["items"][0]
    return voided


def approve(c: HttpCampaign, adjustment: dict[str, str]) -> str:
    """Propose, approve with the adjustment, publish; the proposal hash."""
    proposal = c.send(c.organizer, "results.propose")["proposal_hash"]
    c.send(c.committee, "results.approve", proposal_hash=proposal, adjustments=[adjustment])
    c.send(c.api.harness.admin, "results.publish", window_days=0)
    return proposal


def test_a_campaign_runs_start_to_finish_over_http(harness: Harness, client: FlaskClient) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    cadre, appraisee = c.cadres[0], c.appraisees[0]
    debrief(api, c, cadre, appraisee)

    assert c.open()["issued"] == {
        "resident_rep": 9,
        "unit_rep": 3,
        "leading_group": 3,
        "city_leaders": 1,
        "self": 4,
    }
    c.vote()
    closed = c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    assert closed["checkpoint"]["tree_size"] <= api.position
    check_receipts(api, c)
    check_reconciliation(api, c)

    reason = "经党委会研究，考虑其全年实绩，调整为优秀"
    adjustment = {"appraisee_id": appraisee, "grade": "excellent", "reason": reason}
    first = approve(c, adjustment)
    uphold_a_dispute(api, c)
    assert approve(c, adjustment) != first
    assert c.send(harness.admin, "results.finalize")["status"] == "finalized"
    c.send(cadre, "feedback.acknowledge", appraisee_id=appraisee)

    result = check_results(api, c, appraisee, reason)
    walk_explanation(api, c, appraisee, result)
    own = api.read(f"{c.path}/results/{appraisee}/explanation", cadre)
    assert own["grade"]["grade"] == "excellent"
    assert all(
        "envelope" not in row for group in own["groups"].values() for row in group["rows_used"]
    )
    other = api.get(f"{c.path}/results/{c.appraisees[1]}/explanation", cadre)
    assert_problem(other, 403, "wrong-role")

    [listed] = api.read("/api/v1/campaigns", c.cadres[2], year=2025, status="finalized")["items"]
    assert listed == api.read(c.path, c.cadres[2])
    assert (listed["status"], listed["appraisees"]) == ("finalized", 4)
    rectify(api, c, c.appraisees[3], c.cadres[3])
