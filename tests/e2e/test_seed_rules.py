"""Every seed rule enforced over HTTP, on both stores (issue 13 items 1, 3, 4, 5, 8, 10):
each test is the attack that would pass if the rule's check were missing."""

import copy
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from entrypoints.cli import main
from tests.e2e.conftest import refused
from tests.support import Harness, Signer
from tests.support.http import Api, HttpCampaign
from tests.support.scenario import DIMENSIONS, RULES, new_id

RULESETS = Path(__file__).parents[2] / "service/rulesets"


def a_meeting_of_three(c: HttpCampaign, spread: int = 0) -> list[str]:
    """Balloting that appraises the first three appraisees only, all its ballots but the
    teller's cast: 称职 from everyone, the leading group's scores 80 + n, plus ``spread``
    per place ahead of the third."""
    present = c.appraisees[:3]
    c.send(
        c.organizer,
        "balloting.open",
        meeting_id=c.meeting,
        appraisee_ids=present,
        credentials=[
            {"group": "resident_rep", "public_keys": [k.public_key for k in c.residents[:6]]},
            {"group": "unit_rep", "public_keys": [k.public_key for k in c.units]},
        ],
        paper=[{"group": "resident_rep", "serials": [c.paper_serial]}],
        evaluators=[
            {"group": "leading_group", "actor_ids": [s.actor_id for s in c.leaders]},
            {"group": "city_leaders", "actor_ids": [c.city_leader.actor_id]},
            {"group": "self", "actor_ids": [x.actor_id for x in c.cadres[:3]]},
        ],
    )
    for n, leader in enumerate(c.leaders):
        c.cast(
            leader,
            "leading_group",
            [
                {"appraisee_id": a, "scores": dict.fromkeys(DIMENSIONS, 80 + n + spread * (2 - i))}
                for i, a in enumerate(present)
            ],
        )
    competent = [{"appraisee_id": a, "choice": "competent"} for a in present]
    c.cast(c.city_leader, "city_leaders", competent)
    for appraisee, cadre in zip(present, c.cadres, strict=False):
        c.cast(cadre, "self", [{"appraisee_id": appraisee, "choice": "competent"}])
    for voter in (*c.units, *c.residents[:6]):
        c.cast(voter, "unit_rep" if voter in c.units else "resident_rep", competent)
    return present


def test_a_ballot_naming_someone_its_meeting_did_not_appraise_is_never_counted(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    present = a_meeting_of_three(c)
    outsider = c.appraisees[3]
    paper = c.cast(
        c.teller,
        "resident_rep",
        [
            {"appraisee_id": present[0], "choice": "incompetent"},
            {"appraisee_id": present[1], "choice": "competent"},
            {"appraisee_id": outsider, "choice": "competent"},
        ],
        paper_serial=c.paper_serial,
    )
    assert (paper["valid"], paper["reason"]) == (False, f"unknown_appraisee:{outsider}")
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    c.send(c.organizer, "results.propose")

    results = api.read(f"{c.path}/results", c.inspector)["results"]
    first = next(r for r in results if r["appraisee_id"] == present[0])
    residents = first["groups"]["resident_rep"]
    # six residents chose 称职 (80); the invalid paper ballot's 不称职 (50) must not count
    assert (residents["ballots"], Fraction(residents["score_exact"])) == (6, Fraction(80))
    told = api.read(f"{c.path}/results/{present[0]}/explanation", c.inspector)
    rows = told["groups"]["resident_rep"]
    assert paper["ballot_id"] not in {row["ballot_id"] for row in rows["rows_used"]}
    [excluded] = rows["rows_excluded"]
    assert excluded["ballot_id"] == paper["ballot_id"]
    assert excluded["reason"] == f"invalid:unknown_appraisee:{outsider}"
    [meeting] = api.read(f"{c.path}/reconciliation", c.inspector)["items"]
    counts = meeting["groups"]["resident_rep"]
    assert (counts["valid"], counts["invalid"], counts["counted"]) == (6, 1, 6)
    assert counts["counted"] == residents["ballots"]


def quota_rules(advisory: bool) -> dict[str, Any]:
    """Seed 000 with 优秀 from 80 points, at most half of the cadres."""
    rules = copy.deepcopy(RULES)
    rules["grades"][0] = {
        "code": "excellent",
        "min_score": "80",
        "max_share": "0.5",
        "advisory": advisory,
    }
    return rules


def proposed(c: HttpCampaign, rules: dict[str, Any], year: int = 2025) -> str:
    """Three of four cadres balloted, all tied at 80.45; the fourth incomplete."""
    c.set_up(rules, year)
    a_meeting_of_three(c)
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    return c.send(c.organizer, "results.propose")["proposal_hash"]


def approval(c: HttpCampaign, proposal: str, grades: dict[str, str]) -> dict[str, Any]:
    adjustments = [
        {"appraisee_id": a, "grade": g, "reason": "经党委会研究确定"} for a, g in grades.items()
    ]
    return c.committee.envelope(
        "results.approve", campaign_id=c.id, proposal_hash=proposal, adjustments=adjustments
    )


def test_adjustments_obey_hard_quotas_thresholds_and_complete_results(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    proposal = proposed(c, quota_rules(advisory=False))
    results = {r["appraisee_id"]: r for r in api.read(f"{c.path}/results", c.inspector)["results"]}
    first, second, third, fourth = c.appraisees
    assert [results[a]["score"] for a in (first, second, third)] == ["80.45"] * 3
    assert results[fourth]["status"] == "incomplete"

    all_three = dict.fromkeys((first, second, third), "excellent")
    body = refused(harness, client, approval(c, proposal, all_three), 422, "rule-violation")
    assert (body["quota"], body["allowed"], body["held"]) == ("cadre/excellent", 2, 3)
    body = refused(
        harness, client, approval(c, proposal, {fourth: "incompetent"}), 422, "rule-violation"
    )
    assert body["appraisee_id"] == fourth and "incomplete" in body["detail"]
    two = {first: "excellent", second: "excellent"}
    api.accepted(api.submit(approval(c, proposal, two)))
    graded = {
        r["appraisee_id"]: r["grade"] for r in api.read(f"{c.path}/results", c.inspector)["results"]
    }
    assert [graded[a] for a in c.appraisees] == ["excellent", "excellent", "competent", None]


def test_a_threshold_binds_an_adjustment_even_when_the_quota_is_advisory(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    rules = quota_rules(advisory=True)
    rules["grades"][0]["min_score"] = "81"
    proposal = proposed(c, rules)
    lifted = {c.appraisees[0]: "excellent"}
    body = refused(harness, client, approval(c, proposal, lifted), 422, "rule-violation")
    assert (body["appraisee_id"], body["min_score"]) == (c.appraisees[0], "81")


def test_an_advisory_quota_lets_the_committee_exceed_it(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    proposal = proposed(c, quota_rules(advisory=True))
    api.accepted(api.submit(approval(c, proposal, dict.fromkeys(c.appraisees[:3], "excellent"))))
    graded = [r["grade"] for r in api.read(f"{c.path}/results", c.inspector)["results"]]
    assert graded.count("excellent") == 3


def finalized_year(c: HttpCampaign, year: int, adjusted: dict[str, str]) -> list[dict[str, Any]]:
    """One year's campaign for the same cadres, approved with ``adjusted``; its results."""
    c.id, c.meeting = new_id(), new_id()
    c.residents, c.units = [Signer() for _ in range(8)], [Signer() for _ in range(3)]
    proposal = proposed(c, RULES, year)
    c.api.accepted(c.api.submit(approval(c, proposal, adjusted)))
    c.send(c.api.harness.admin, "results.publish", window_days=0)
    c.send(c.api.harness.admin, "results.finalize")
    return c.api.read(f"{c.path}/results", c.inspector)["results"]


def test_the_two_years_incompetent_flag_follows_the_approved_grade(
    harness: Harness, client: FlaskClient
) -> None:
    c = HttpCampaign(Api(client, harness))
    first = c.appraisees[0]
    finalized_year(c, 2024, {first: "incompetent"})
    results = {r["appraisee_id"]: r for r in finalized_year(c, 2025, {first: "incompetent"})}
    assert (results[first]["computed_grade"], results[first]["grade"]) == (
        "competent",
        "incompetent",
    )
    assert "disposal_review" in results[first]["flags"]
    assert all("disposal_review" not in r["flags"] for a, r in results.items() if a != first)
    explained = c.api.read(f"{c.path}/results/{first}/explanation", c.inspector)
    assert "disposal_review" in {n["flag"] for n in explained["grade"]["notes"]}


CHINESE = "社区干部认真履职尽责服务居民群众"  # 16 Han characters, no space


def report(c: HttpCampaign, text: str) -> dict[str, Any]:
    return c.cadres[0].envelope(
        "report.submit",
        campaign_id=c.id,
        appraisee_id=c.appraisees[0],
        parts=[{"code": "annual", "text": text}],
    )


def test_max_words_counts_each_chinese_character_as_a_word(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()  # seed 000: reports of at most 1,000 words (about 1,000 字)
    body = refused(harness, client, report(c, (CHINESE * 188)[:3000]), 422, "rule-violation")
    assert (body["counted"], body["max_words"]) == (3000, 1000)
    paragraphs = ("社区" * 5 + "，\n") * 99 + "2025年 work done"  # 990 + 4 words
    body = refused(
        harness, client, report(c, paragraphs + "。超过了一千字了"), 422, "rule-violation"
    )
    assert body["counted"] == 1001
    api.accepted(api.submit(report(c, paragraphs + "。刚好一千字整")))


def linked_rules(freed_place: str | None, max_share: str = "0.5") -> dict[str, Any]:
    """Seed 000 with seed 002's linked rule (党建述职 not 好 → not 优秀) and a hard quota."""
    rules = quota_rules(advisory=False)
    rules["grades"][0]["max_share"] = max_share
    rules["assessments"] = [
        {"code": "party_building", "values": [{"code": "good"}, {"code": "average"}]}
    ]
    rule = {
        "code": "party_building_not_good",
        "assessment": "party_building",
        "allowed": ["good"],
        "cap_grade": "competent",
        "reason": "述职评议考核综合评价未达到“好”的,其年度考核不得评定为“优秀”等次",
    }
    rules["linked_rules"] = [rule | ({} if freed_place is None else {"freed_place": freed_place})]
    return rules


def graded(c: HttpCampaign, rules: dict[str, Any]) -> list[dict[str, Any]]:
    """Cadres 0, 1, 2 scoring 82.25, 81.35, 80.45 (the fourth incomplete); cadre 0's
    party-building debriefing judged 一般, the others' 好."""
    c.set_up(rules)
    for appraisee, value in zip(c.appraisees, ("average", "good", "good"), strict=False):
        c.send(
            c.organizer,
            "assessment.record",
            appraisee_id=appraisee,
            assessment="party_building",
            value=value,
        )
    a_meeting_of_three(c, spread=2)
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    c.send(c.organizer, "results.propose")
    by_id = {r["appraisee_id"]: r for r in c.api.read(f"{c.path}/results", c.inspector)["results"]}
    assert [by_id[a]["score"] for a in c.appraisees[:3]] == ["82.25", "81.35", "80.45"]
    return [by_id[a] for a in c.appraisees]


@pytest.mark.parametrize(
    ("freed_place", "grades"),
    [
        (None, ["competent", "excellent", "competent"]),  # the default: left empty
        ("left_empty", ["competent", "excellent", "competent"]),
        ("next_in_rank", ["competent", "excellent", "excellent"]),
    ],
)
def test_the_place_a_linked_rule_frees_goes_where_the_rules_declare(
    harness: Harness, client: FlaskClient, freed_place: str | None, grades: list[str]
) -> None:
    c = HttpCampaign(Api(client, harness))
    results = graded(c, linked_rules(freed_place))
    assert [r["grade"] for r in results[:3]] == grades
    assert "linked_rule:party_building_not_good" in results[0]["flags"]
    assert all("linked_rule:party_building_not_good" not in r["flags"] for r in results[1:])
    told = c.api.read(f"{c.path}/results/{c.appraisees[0]}/explanation", c.inspector)
    [note] = [n for n in told["grade"]["notes"] if n["flag"].startswith("linked_rule:")]
    assert ("left empty" in note["reason"]) is (freed_place != "next_in_rank")


def test_an_empty_quota_says_why(harness: Harness, client: FlaskClient) -> None:
    c = HttpCampaign(Api(client, harness))
    results = graded(c, linked_rules("next_in_rank", max_share="0.2"))  # floor(0.2 × 4) = 0
    assert [r["grade"] for r in results[:3]] == ["competent"] * 3
    assert ["quota_floor_zero" in r["flags"] for r in results] == [False, True, True, False]
    told = c.api.read(f"{c.path}/results/{c.appraisees[1]}/explanation", c.inspector)
    [note] = [n for n in told["grade"]["notes"] if n["flag"] == "quota_floor_zero"]
    assert "floor(0.2 × 4) = 0" in note["reason"]


def roster_of(c: HttpCampaign, category: str) -> dict[str, Any]:
    entry = {
        "appraisee_id": new_id(),
        "name": "干部",
        "position": "社区居委会委员",
        "unit": "东马社区",
        "category": category,
    }
    return c.organizer.envelope("campaign.add_appraisees", campaign_id=c.id, appraisees=[entry])


def test_a_category_the_rules_do_not_know_is_refused(harness: Harness, client: FlaskClient) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.send(c.organizer, "campaign.create", title="t", year=2025, rules=RULES)  # no categories
    body = refused(harness, client, roster_of(c, "cader"), 422, "rule-violation")
    assert body["category"] == "cader" and "(cadre)" in body["detail"]
    api.accepted(api.submit(roster_of(c, "cadre")))

    declared = HttpCampaign(api)
    rules = {**RULES, "default_category": "community"}
    declared.send(declared.organizer, "campaign.create", title="t", year=2025, rules=rules)
    refused(harness, client, roster_of(declared, "cadre"), 422, "rule-violation")
    api.accepted(api.submit(roster_of(declared, "community")))


BROKEN_RULES = {
    "an integer weight above 1": lambda d: d["groups"][0].update(weight=2),
    "weights that do not sum to 1": lambda d: d["groups"][0].update(weight="0.2"),
    "a typo in a key": lambda d: d.update(categorys=[]),
    "an advisory quota-less grade": lambda d: d["grades"][1].update(advisory=True),
    "an unknown freed-place policy": lambda d: d.update(
        assessments=[{"code": "p", "values": [{"code": "good"}]}],
        linked_rules=[
            {
                "code": "r",
                "assessment": "p",
                "allowed": ["good"],
                "cap_grade": "competent",
                "reason": "r",
                "freed_place": "next",
            }
        ],
    ),
    "a default category beside categories": lambda d: d.update(
        default_category="cadre", categories=[{"code": "cadre"}]
    ),
}


@pytest.mark.parametrize("breakage", BROKEN_RULES.values(), ids=BROKEN_RULES.keys())
def test_rules_check_refuses_offline_exactly_as_the_server_does(
    harness: Harness, client: FlaskClient, tmp_path: Path, breakage: Any
) -> None:
    document = copy.deepcopy(RULES)
    breakage(document)
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    offline = CliRunner().invoke(main, ["rules", "check", str(path)])
    organizer = Api(client, harness).register("organizer", name="组织部")
    create = organizer.envelope(
        "campaign.create", campaign_id=new_id(), title="t", year=2025, rules=document
    )
    body = refused(harness, client, create, 422, "rules-invalid")
    assert offline.exit_code == 1
    assert offline.stderr == f"error: {body['detail']}\n"


def test_rules_check_accepts_every_seed_rule_file(tmp_path: Path) -> None:
    for path in sorted(RULESETS.glob("*.json")):
        result = CliRunner().invoke(main, ["rules", "check", "--json", str(path)])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["valid"] is True
    path = tmp_path / "twice.json"
    path.write_text('{"scale": 100, "scale": 10}', encoding="utf-8")
    twice = CliRunner().invoke(main, ["rules", "check", str(path)])
    assert (twice.exit_code, twice.stderr) == (
        1,
        f"error: {path}: the key 'scale' appears twice in one object\n",
    )
    floats = json.loads(RULESETS.joinpath("seed000_city.json").read_text(encoding="utf-8"))
    floats["groups"][0]["weight"] = 0.1  # no signed command can carry a float at all
    path.write_text(json.dumps(floats), encoding="utf-8")
    refused_float = CliRunner().invoke(main, ["rules", "check", str(path)])
    assert refused_float.exit_code == 1
    assert refused_float.stderr == (
        f"error: {path}: floats are not allowed at /groups/0/weight: "
        "use an integer or a decimal string\n"
    )
