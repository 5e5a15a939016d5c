"""`GET /api/v1/campaigns/{id}/forms.xlsx` (issue 17): the official forms over HTTP, on
both stores, compared cell by cell with the read models as the caller's roles may see
them (the independent model in tests/integration/test_excel.py): the anonymity floor
holds for the organiser and not for the auditor; the roles that may not read the forms
are refused, and so is what a client can get wrong."""

import copy
import io
from datetime import date

import openpyxl
import pytest
from flask.testing import FlaskClient

from tests.e2e.conftest import assert_problem
from tests.integration.test_excel import (
    SUMMARY,
    RuleLabels,
    compare_workbook,
    expected_sheets,
)
from tests.support import Harness
from tests.support.http import Api, HttpCampaign, proposed_campaign
from tests.support.scenario import RULES, new_id

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DAY = date(2026, 1, 20)
APPROVED = "已审定，待公示"


@pytest.fixture
def approved(client: FlaskClient, harness: Harness) -> tuple[HttpCampaign, dict]:
    """Seed 000's campaign voted and approved, with the unit representatives' three
    ballots below a raised anonymity floor of 4."""
    rules = copy.deepcopy(RULES)
    next(g for g in rules["groups"] if g["code"] == "unit_rep")["anonymity_floor"] = 4
    c = HttpCampaign(Api(client, harness))
    c.set_up(rules)
    c.open()
    c.vote()
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    proposal = c.send(c.organizer, "results.propose")["proposal_hash"]
    c.send(c.committee, "results.approve", proposal_hash=proposal, adjustments=[])
    return c, rules


def roster(c: HttpCampaign) -> list[dict]:
    """The roster as the scenario registered it (tests.support.scenario.set_up)."""
    return [
        {
            "appraisee_id": a,
            "name": f"干部{i}",
            "position": "社区党支部书记",
            "unit": "东马社区",
            "category": "cadre",
        }
        for i, a in enumerate(c.appraisees)
    ]


def download(c: HttpCampaign, who, **params) -> openpyxl.Workbook:
    response = c.api.get(
        f"{c.path}/forms.xlsx", who, min_position=c.api.position, date=DAY.isoformat(), **params
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == XLSX
    assert "attachment" in response.headers["Content-Disposition"]
    return openpyxl.load_workbook(io.BytesIO(response.get_data()))


def cells(workbook: openpyxl.Workbook) -> list:
    return [v for sheet in workbook for row in sheet.iter_rows(values_only=True) for v in row]


def test_the_forms_show_each_reader_what_the_results_show_them(
    approved: tuple[HttpCampaign, dict], harness: Harness
) -> None:
    c, rules = approved
    read, labels = harness.read, RuleLabels(rules)
    for who, roles in ((c.organizer, {"organizer"}), (c.auditor, {"auditor"})):
        workbook = download(c, who)
        checkpoint = harness.system.ledger.tree_head()
        expected = expected_sheets(read, c.id, roster(c), labels, roles, DAY)
        compare_workbook(workbook, expected, read, c.id, DAY, checkpoint, APPROVED)
    organizer, auditor = download(c, c.organizer), download(c, c.auditor)
    assert "不公开" in cells(organizer), "the unit representatives' group is below its floor"
    assert "不公开" not in cells(auditor)
    summary = [list(r) for r in auditor[SUMMARY].iter_rows(min_row=4, max_row=4, values_only=True)]
    assert {"优秀", "称职", "不称职", "弃权", "优秀率"} <= set(summary[0])
    assert "精确值" not in cells(auditor), "exact fractions are not for paper"


def test_who_may_not_read_the_forms_and_what_a_client_gets_wrong(
    approved: tuple[HttpCampaign, dict],
) -> None:
    c, _ = approved
    api = c.api
    for outsider in (c.leaders[0], c.teller, c.cadres[0]):
        assert_problem(api.get(f"{c.path}/forms.xlsx", outsider), 403, "wrong-role")
    assert_problem(api.get(f"{c.path}/forms.xlsx"), 401, "unauthorized")
    unknown = f"/api/v1/campaigns/{new_id()}/forms.xlsx"
    assert_problem(api.get(unknown, c.organizer), 404, "not-found")
    for bad in ({"date": "2026-02-30"}, {"date": "soon"}, {"min_position": -1}):
        response = api.get(f"{c.path}/forms.xlsx", c.organizer, **bad)
        assert_problem(response, 422, "validation-failed")
    ahead = api.get(f"{c.path}/forms.xlsx", c.organizer, min_position=10**9)
    assert_problem(ahead, 422, "position-ahead")


def test_a_draft_s_forms_are_for_its_makers_and_supervisors(
    client: FlaskClient, harness: Harness
) -> None:
    c = proposed_campaign(client, harness)
    workbook = download(c, c.committee)
    assert "结果已测算，待审定" in workbook[SUMMARY]["A2"].value
    assert "待研究确定" in cells(workbook), "no grade is decided before the approval"
