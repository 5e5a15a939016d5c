"""`appraisal export xlsx` writes the official forms, and every cell agrees with the read models.

The expected rows are built here from `projections.queries` (results in the
privileged view, reconciliation, rectifications), the demo's roster and the
rule files' own labels — never from the exporter's row builders — and compared
with the workbook read back by openpyxl, cell by cell, on both stores.
"""

import json
import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import openpyxl
from click.testing import CliRunner, Result
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bootstrap import Services
from entrypoints.cli import main
from entrypoints.demo import load_rules, run_demo
from projections import catch_up, queries
from projections.read_side import ReadSide
from service.settings import Settings
from tests.support import Harness

SUMMARY, EVALUATION, RECTIFICATION = "民主测评结果汇总表", "综合评价表", "问题整改清单"
FIRST_DATA_ROW = {SUMMARY: 5, EVALUATION: 4, RECTIFICATION: 4}
FROZEN = {SUMMARY: "F5", EVALUATION: "F4", RECTIFICATION: "D4"}
RULE_FILES = ("seed002_dazehu.json", "seed000_city.json")  # the demo's campaigns, in order
ITEM_STATUS = {
    "open": "未开始",
    "in_progress": "整改中",
    "done": "已完成，待回头看",
    "verified": "回头看通过",
}
AUDITOR = {"auditor"}


def env_of(settings: Settings) -> dict[str, str]:
    return {
        "APPRAISAL_DATA_DIR": str(settings.data_dir),
        "APPRAISAL_DATABASE_URL": settings.database_url,
    }


def export(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(main, ["export", "xlsx", *args], env=env_of(settings))


class RuleLabels:
    """Labels read straight from a rules file, as the forms must show them."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.categories = {c["code"]: c for c in document.get("categories", [])}

    def category(self, code: str) -> str:
        """A rules file with no categories has the one undeclared category, 干部 (domain.rules)."""
        if not self.categories:
            return "干部"
        return self.categories[code]["label"]

    def grade(self, category: str, code: str) -> str:
        grades = self.categories.get(category, {}).get("grades", self.document.get("grades"))
        return next(g["label"] for g in grades if g["code"] == code)

    def flag(self, flag: str) -> str:
        kind, _, code = flag.partition(":")
        if kind == "linked_rule":
            rule = next(r for r in self.document["linked_rules"] if r["code"] == code)
            return f"联动规则：{rule['reason']}"
        cross_year = {r["flag"]: r["reason"] for r in self.document.get("cross_year", [])}
        assert flag in cross_year, f"the demo raised a flag this test does not expect: {flag}"
        return f"跨年度：{cross_year[flag]}"

    @staticmethod
    def consequence(consequence: Mapping[str, Any]) -> str:
        kind = {"interview": "约谈", "rectify": "限期整改", "disposal_review": "组织处理"}
        due = f"，{consequence['due']}前完成" if "due" in consequence else ""
        return f"{kind[consequence['kind']]}：{consequence['reason']}{due}"

    def assessment(self, code: str, value: str | None) -> str | None:
        declared = next(a for a in self.document["assessments"] if a["code"] == code)
        return next((v["label"] for v in declared["values"] if v["code"] == value), None)


def expected_summary(
    read: ReadSide, campaign_id: str, roster: list[dict[str, Any]], labels: RuleLabels
) -> tuple[list[list[Any]], list[tuple[Any, ...]]]:
    """Header rows and one row per appraisee: the ballots of the meetings that appraised
    them per group (issued, cast, valid and not voided) and the group's score."""
    groups = labels.document["groups"]
    results = {
        r["appraisee_id"]: r for r in queries.results(read, campaign_id, roles=AUDITOR)["results"]
    }
    meetings = queries.reconciliation(read, campaign_id, limit=None)["items"]
    members = {
        m["meeting_id"]: read.app.find(UUID(m["meeting_id"])).appraisee_ids for m in meetings
    }
    identity = ["序号", "单位", "姓名", "职务", "类别"]
    top = identity + [label for g in groups for label in (g["label"], None, None, None, None)]
    sub = [None] * len(identity) + ["发出票数", "收回票数", "有效票数", "得分", "精确值"] * len(
        groups
    )
    rows = []
    for n, who in enumerate(roster, 1):
        row: list[Any] = [
            n,
            who["unit"],
            who["name"],
            who["position"],
            labels.category(who["category"]),
        ]
        for group in groups:
            counts = [
                m["groups"][group["code"]]
                for m in meetings
                if who["appraisee_id"] in members[m["meeting_id"]]
            ]
            scored = results[who["appraisee_id"]]["groups"][group["code"]]
            row += [
                sum(c["issued"] for c in counts),
                sum(c["cast"] for c in counts),
                sum(c["counted"] for c in counts),
                scored["score"],
                scored["score_exact"],
            ]
        rows.append(tuple(row))
    return [top, sub], rows


def expected_evaluation(
    read: ReadSide, campaign_id: str, roster: list[dict[str, Any]], labels: RuleLabels
) -> tuple[list[list[Any]], list[tuple[Any, ...]]]:
    """Header and one row per result, in the results' order (category, then rank)."""
    assessments = labels.document.get("assessments", [])
    header = [
        "序号", "单位", "姓名", "职务", "类别", "综合得分", "精确值", "排名",
        "测算等次", "确定等次", "调整理由", "标记/说明", *(a["label"] for a in assessments),
    ]  # fmt: skip
    people = {who["appraisee_id"]: who for who in roster}
    recorded = read.app.find(UUID(campaign_id)).assessments
    results = queries.results(read, campaign_id, roles=AUDITOR)["results"]
    assert {r["appraisee_id"] for r in results} == set(people)
    rows = []
    for n, result in enumerate(results, 1):
        who = people[result["appraisee_id"]]
        category = result["category"]
        values = recorded.get(result["appraisee_id"], {})
        rows.append(
            (
                n,
                who["unit"],
                who["name"],
                who["position"],
                labels.category(category),
                result["score"],
                result["score_exact"],
                result["rank"],
                labels.grade(category, result.get("computed_grade", result["grade"])),
                labels.grade(category, result["grade"]),
                result.get("adjustment", {}).get("reason"),
                "\n".join(
                    [
                        *(labels.flag(f) for f in result["flags"]),
                        *(labels.consequence(c) for c in result["consequences"]),
                    ]
                )
                or None,
                *(labels.assessment(a["code"], values.get(a["code"])) for a in assessments),
            )
        )
    return [header], rows


def expected_rectification(
    read: ReadSide, campaign_id: str, roster: list[dict[str, Any]], day: date
) -> tuple[list[list[Any]], list[tuple[Any, ...]]]:
    header = [
        "序号",
        "单位",
        "姓名",
        "问题/整改事项",
        "整改时限",
        "进展情况",
        "回头看结果",
        "状态",
        "是否逾期",
    ]
    people = {who["appraisee_id"]: who for who in roster}
    plans = queries.rectifications(read, today=day, campaign_id=campaign_id, limit=None)["items"]
    rows = []
    for plan in plans:
        who = people[plan["appraisee_id"]]
        for item in plan["items"]:
            progress = [
                f"{p['on']} {p['note']}" + ("（已完成）" if p["done"] else "")
                for p in item["progress"]
            ]
            checks = [
                f"{c['on']} {'通过' if c['passed'] else '未通过'}：{c['note']}"
                for c in item["checks"]
            ]
            rows.append(
                (
                    len(rows) + 1,
                    who["unit"],
                    who["name"],
                    item["description"],
                    item["deadline"],
                    "\n".join(progress) or None,
                    "\n".join(checks) or None,
                    "已销号" if plan["closed"] else ITEM_STATUS[item["status"]],
                    "是" if item["overdue"] else "否",
                )
            )
    return [header], rows


def header_and_data(sheet: Worksheet) -> tuple[list[list[Any]], list[tuple[Any, ...]], list[str]]:
    """The sheet's header rows, its data rows (up to the footer) and its footer lines."""
    first = FIRST_DATA_ROW[sheet.title]
    headers = [list(row) for row in sheet.iter_rows(min_row=3, max_row=first - 1, values_only=True)]
    rest = list(sheet.iter_rows(min_row=first, values_only=True))
    footer = next(i for i, row in enumerate(rest) if str(row[0]).startswith("制表人"))
    return headers, rest[:footer], [row[0] for row in rest[footer:]]


def check_layout(
    sheet: Worksheet, campaign: dict[str, Any], day: date, checkpoint: dict[str, Any]
) -> None:
    """Title, subtitle, bold bordered headers, frozen panes and the traceable footer."""
    last = get_column_letter(sheet.max_column)
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {f"A1:{last}1", f"A2:{last}2"} <= merged
    assert sheet["A1"].value == f"{campaign['title']}\u3000{sheet.title}"
    subtitle = sheet["A2"].value
    for part in (
        campaign["details"]["jurisdiction"],
        f"{campaign['year']}年",
        f"填报日期：{day.isoformat()}",
        "已定案",
    ):
        assert part in subtitle
    assert sheet["A3"].font.b and sheet["A3"].border.left.style == "thin"
    assert sheet.freeze_panes == FROZEN[sheet.title]
    _, _, footer = header_and_data(sheet)
    assert "制表人" in footer[0] and "审核人" in footer[0]
    assert f"树大小 {checkpoint['tree_size']}，根哈希 {checkpoint['root']}" in footer[1]


def export_day(read: ReadSide, campaign_id: str) -> date:
    """The day after the campaign's first rectification deadline, so that items both
    overdue and not appear; today when it has no plan."""
    plans = queries.rectifications(read, today=date.today(), campaign_id=campaign_id)["items"]
    if not plans:
        return date.today()
    return date.fromisoformat(plans[0]["items"][0]["deadline"]) + timedelta(days=1)


def check_export(
    settings: Settings, read: ReadSide, demo_campaign: dict[str, Any], rule_file: str, out: Path
) -> dict[str, list[tuple[Any, ...]]]:
    """Export one campaign through the CLI and compare every sheet with the read models;
    return the expected data rows per sheet."""
    campaign_id = demo_campaign["campaign_id"]
    day = export_day(read, campaign_id)
    path = out / f"{campaign_id}.xlsx"
    result = export(settings, campaign_id, "-o", str(path), "--date", day.isoformat(), "--json")
    assert result.exit_code == 0, result.output

    labels = RuleLabels(load_rules(rule_file))
    roster = demo_campaign["roster"]
    expected = {
        SUMMARY: expected_summary(read, campaign_id, roster, labels),
        EVALUATION: expected_evaluation(read, campaign_id, roster, labels),
        RECTIFICATION: expected_rectification(read, campaign_id, roster, day),
    }
    checkpoint = queries.latest_checkpoint(read)
    assert json.loads(result.stdout) == {
        "file": str(path),
        "campaign_id": campaign_id,
        "date": day.isoformat(),
        "sheets": {name: len(rows) for name, (_, rows) in expected.items()},
        "checkpoint": {"tree_size": checkpoint["tree_size"], "root": checkpoint["root"]},
    }
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == [SUMMARY, EVALUATION, RECTIFICATION]
    campaign = queries.campaign(read, campaign_id)
    for name, (want_headers, want_rows) in expected.items():
        sheet = workbook[name]
        headers, rows, _ = header_and_data(sheet)
        assert headers == want_headers
        assert len(rows) == len(want_rows)
        for got, want in zip(rows, want_rows, strict=True):
            assert got == want
        check_layout(sheet, campaign, day, checkpoint)
    return {name: rows for name, (_, rows) in expected.items()}


def test_exported_forms_match_the_read_models_cell_by_cell(
    store_settings: Settings, tmp_path: Path
) -> None:
    summary = run_demo(store_settings, lambda _: None)
    out = tmp_path / "out"
    out.mkdir()
    services = Services.open(store_settings)
    try:
        catch_up(services.read)
        compared = [
            check_export(store_settings, services.read, demo_campaign, rule_file, out)
            for demo_campaign, rule_file in zip(summary["campaigns"], RULE_FILES, strict=True)
        ]
    finally:
        services.close()
    items = [row for rows in compared for row in rows[RECTIFICATION]]
    assert {row[-1] for row in items} == {"是", "否"}, "both overdue and not were compared"
    assert all(p.suffix == ".xlsx" for p in out.iterdir()), "no temporary file is left behind"

    city = out / "city.xlsx"
    human = export(store_settings, summary["campaigns"][1]["campaign_id"], "-o", str(city))
    assert human.exit_code == 0 and human.stdout.startswith(f"wrote {city}")
    subtitle = openpyxl.load_workbook(city)[SUMMARY]["A2"].value
    assert f"填报日期：{date.today().isoformat()}" in subtitle

    unwritable = out / "missing" / "forms.xlsx"
    failed = export(store_settings, summary["campaigns"][0]["campaign_id"], "-o", str(unwritable))
    assert failed.exit_code == 1
    assert failed.stderr.strip().splitlines() == [
        f"error: cannot write {unwritable}: No such file or directory"
    ]
    assert not unwritable.parent.exists()


def test_an_unknown_campaign_is_a_one_line_error_and_writes_nothing(
    harness: Harness, tmp_path: Path
) -> None:
    unknown = str(uuid.uuid4())
    out = tmp_path / "out"
    out.mkdir()
    result = export(harness.system.settings, unknown, "-o", str(out / "forms.xlsx"))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"error: no campaign {unknown}"]
    assert list(out.iterdir()) == []
