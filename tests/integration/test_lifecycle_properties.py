"""Properties of the lifecycle on a real store: random ballots in random order derive
exactly what the pure scoring derives in memory, and refused commands write nothing."""

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import errors, scoring
from domain.campaign import compact_results
from domain.rules import parse_rules
from tests.support import Harness, Signer
from tests.support.scenario import RULES, CityCampaign, new_id

CHOICES = ("excellent", "competent", "incompetent")
PROPERTY_SETTINGS = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

votes = st.fixed_dictionaries(
    {
        "leaders": st.lists(
            st.lists(st.integers(0, 100), min_size=4, max_size=4), min_size=3, max_size=3
        ),
        "units": st.lists(
            st.lists(st.sampled_from(CHOICES), min_size=4, max_size=4), min_size=3, max_size=3
        ),
        "residents": st.lists(
            st.lists(st.sampled_from((*CHOICES, "abstain")), min_size=4, max_size=4),
            min_size=8,
            max_size=8,
        ),
        "order": st.randoms(use_true_random=False),
    }
)


def rows_for(c: CityCampaign, codes: list[str]) -> list[dict]:
    return [
        {"appraisee_id": a, "abstain": True}
        if code == "abstain"
        else {"appraisee_id": a, "choice": code}
        for a, code in zip(c.appraisees, codes, strict=True)
    ]


@PROPERTY_SETTINGS
@given(plan=votes)
def test_store_derivation_equals_in_memory_derivation(harness: Harness, plan) -> None:
    c = CityCampaign(harness)
    c.set_up()
    c.open()
    casts = [
        (
            leader,
            "leading_group",
            [
                {
                    "appraisee_id": a,
                    "scores": dict.fromkeys(
                        ("morality", "ability", "diligence", "performance", "integrity"), s
                    ),
                }
                for a, s in zip(c.appraisees, scores, strict=True)
            ],
        )
        for leader, scores in zip(c.leaders, plan["leaders"], strict=True)
    ]
    casts.append((c.city_leader, "city_leaders", rows_for(c, ["competent"] * 4)))
    casts += [
        (cadre, "self", [{"appraisee_id": a, "choice": "competent"}])
        for cadre, a in zip(c.cadres, c.appraisees, strict=True)
    ]
    casts += [
        (k, "unit_rep", rows_for(c, codes)) for k, codes in zip(c.units, plan["units"], strict=True)
    ]
    casts += [
        (k, "resident_rep", rows_for(c, codes))
        for k, codes in zip(c.residents, plan["residents"], strict=True)
    ]
    plan["order"].shuffle(casts)
    for who, group, rows in casts:
        c.cast(who, group, rows)
    c.close_and_propose()
    expected = scoring.score(
        scoring.ScoringInput(
            rules=parse_rules(RULES),
            appraisees=[scoring.Appraisee(a, "cadre") for a in c.appraisees],
            ballots=c.ballots,
        )
    )
    stored = harness.system.app.find(uuid.UUID(c.id)).proposal["results"]
    assert stored == compact_results(expected.result_dicts())


def refusals(c: CityCampaign) -> list:
    stranger = Signer()
    ballot = {
        "meeting_id": c.meeting,
        "ballot_id": new_id(),
        "group": "leading_group",
        "rows": rows_for(c, ["competent"] * 4),
    }
    return [
        (stranger, "ballot.cast", ballot),
        (c.cadres[0], "campaign.publish", {}),
        (c.organizer, "campaign.amend", {"title": "x"}),
        (c.organizer, "results.propose", {}),
        (c.committee, "results.approve", {"proposal_hash": "0" * 64, "adjustments": []}),
        (c.h.admin, "results.finalize", {}),
        (c.leaders[0], "ballot.cast", ballot),
        (c.leaders[0], "ballot.cast", {**ballot, "group": "unit_rep"}),
        (
            c.cadres[0],
            "ballot.cast",
            {**ballot, "group": "self", "rows": rows_for(c, ["competent"] * 4)},
        ),
        (
            c.organizer,
            "balloting.open",
            {
                "meeting_id": c.meeting,
                "evaluators": [{"group": "leading_group", "actor_ids": [c.leaders[0].actor_id]}],
            },
        ),
        (
            c.cadres[1],
            "report.submit",
            {"appraisee_id": c.appraisees[0], "parts": [{"code": "annual", "text": "冒名提交"}]},
        ),
        (
            c.inspector,
            "dispute.resolve",
            {"dispute_id": new_id(), "decision": "upheld", "reason": "无此争议"},
        ),
    ]


@PROPERTY_SETTINGS
@given(picks=st.lists(st.integers(0, 11), min_size=1, max_size=6))
def test_refused_commands_leave_the_store_unchanged(harness: Harness, picks) -> None:
    c = CityCampaign(harness)
    c.set_up()
    c.open()
    menu = refusals(c)
    for pick in picks:
        who, command_type, fields = menu[pick]
        before = harness.size
        try:
            c.send(who, command_type, **fields)
        except errors.DomainError:
            pass
        else:
            raise AssertionError(f"{command_type} should have been refused")
        assert harness.size == before
