"""`appraisal export xlsx` writes the official forms, and every cell agrees with the read models.

The expected rows are built here from `projections.queries` (results in the
privileged view, reconciliation, rectifications), the demo's roster and the
rule files' own labels — never from the exporter's row builders — and compared
with the workbook read back by openpyxl, cell by cell, on both stores.
"""

import json
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import date, timedelta
from fractions import Fraction
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

SUMMARY, GRADES, RECTIFICATION = "民主测评结果汇总表", "考核等次汇总表", "问题整改清单"


def first_data_row(title: str) -> int:
    return 5 if title == SUMMARY else 4


def frozen(title: str) -> str:
    return {SUMMARY: "F5", GRADES: "F4", RECTIFICATION: "D4"}.get(title, "B4")


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
        if kind == "missing_group":
            group = next(g for g in self.document["groups"] if g["code"] == code)
            return f"缺少测评组“{group['label']}”：计分票数不足{group['min_ballots']}张"
        fixed = {
            "quota_tie": "名额边界并列：并列者均未评定该等次，提请研究确定",
            "quota_floor_zero": "名额为零：比例×人数向下取整为0，该等次本类别无名额",
            "renormalized": "有测评组缺失，其余测评组权重按比例折算",
        }
        if flag in fixed:
            return fixed[flag]
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


HIDDEN, DASH = "不公开", "—"


def shown_group(result: Mapping[str, Any] | None, code: str, roles: set[str]) -> bool:
    """Whether a group's breakdown is on the form for these roles: as the results read
    discloses it; before any result, only to inspectors and auditors."""
    if result is None:
        return bool(roles & {"auditor", "inspector"})
    return "hidden" not in result["groups"][code]


def choice_votes(read: ReadSide, campaign_id: str) -> Counter[tuple[str, str, str]]:
    """(appraisee, group, choice or 弃权) → votes, over the ballots the reconciliation
    counts (valid, not voided), from each ballot's own signed rows."""
    votes: Counter[tuple[str, str, str]] = Counter()
    ballots = queries.ballots(read, campaign_id, roles=AUDITOR, limit=None)["items"]
    for ballot in ballots:
        if ballot["status"] != "valid":
            continue
        for row in read.app.find(UUID(ballot["ballot_id"])).rows:
            choice = "弃权" if row.get("abstain") else row.get("choice")
            if choice is not None:
                votes[row["appraisee_id"], ballot["group"], choice] += 1
    return votes


def percent(part: int, whole: int) -> str:
    """Half up to two decimals, from integers alone."""
    if whole == 0:
        return DASH
    hundredths = (20000 * part + whole) // (2 * whole)
    return f"{hundredths // 100}.{hundredths % 100:02d}%"


def expected_summary(
    read: ReadSide,
    campaign_id: str,
    roster: list[dict[str, Any]],
    labels: RuleLabels,
    roles: set[str],
) -> tuple[list[list[Any]], list[tuple[Any, ...]]]:
    """Header rows and one row per appraisee: per group the ballots of the meetings that
    appraised them (issued, cast, valid and not voided), for a choice group the votes
    per choice, abstentions and the 优秀 share, then the group's score; 不公开 where
    the reader may not see the group."""
    groups = labels.document["groups"]
    choices = labels.document.get("choices", [])
    best = max(choices, key=lambda c: Fraction(c["score"]))["label"] if choices else None
    results = {
        r["appraisee_id"]: r for r in queries.results(read, campaign_id, roles=roles)["results"]
    }
    meetings = queries.reconciliation(read, campaign_id, limit=None)["items"]
    members = {
        m["meeting_id"]: read.app.find(UUID(m["meeting_id"])).appraisee_ids for m in meetings
    }
    votes = choice_votes(read, campaign_id)
    identity = ["序号", "单位", "姓名", "职务", "类别"]
    top, sub = list(identity), [None] * len(identity)
    for g in groups:
        own = ["发出票数", "收回票数", "有效票数"]
        if g["form"] == "grade_choice":
            own += [c["label"] for c in choices] + ["弃权", f"{best}率"]
        own.append("得分")
        top += [g["label"]] + [None] * (len(own) - 1)
        sub += own
    rows = []
    for n, who in enumerate(roster, 1):
        appraisee = who["appraisee_id"]
        result = results.get(appraisee)
        row: list[Any] = [n, who["unit"], who["name"], who["position"]]
        row.append(labels.category(who["category"]))
        for group in groups:
            code = group["code"]
            counts = [m["groups"][code] for m in meetings if appraisee in members[m["meeting_id"]]]
            row += [
                sum(c["issued"] for c in counts),
                sum(c["cast"] for c in counts),
                sum(c["counted"] for c in counts),
            ]
            shown = shown_group(result, code, roles)
            if group["form"] == "grade_choice":
                mine = [votes[appraisee, code, c["code"]] for c in choices]
                mine.append(votes[appraisee, code, "弃权"])
                excellent = votes[
                    appraisee, code, max(choices, key=lambda c: Fraction(c["score"]))["code"]
                ]
                row += (
                    [*mine, percent(excellent, sum(mine))] if shown else [HIDDEN] * (len(mine) + 1)
                )
            score = result["groups"][code].get("score") if result else None
            row.append((score or DASH) if shown else HIDDEN)
        rows.append(tuple(row))
    return [top, sub], rows


def total_of(result: Mapping[str, Any] | None) -> Any:
    if result is None:
        return DASH
    if result["score"] is None and any("hidden" in g for g in result["groups"].values()):
        return HIDDEN
    return result["score"] or DASH


def notes_of(labels: RuleLabels, result: Mapping[str, Any]) -> str | None:
    lines = [
        *(labels.flag(f) for f in result["flags"]),
        *(labels.consequence(c) for c in result["consequences"]),
    ]
    return "\n".join(lines) or None


def expected_grades(
    read: ReadSide,
    campaign_id: str,
    roster: list[dict[str, Any]],
    labels: RuleLabels,
    roles: set[str],
) -> tuple[list[list[Any]], list[tuple[Any, ...]]]:
    """Header and one row per result, in the results' order (category, then rank)."""
    assessments = labels.document.get("assessments", [])
    header = [
        "序号", "单位", "姓名", "职务", "类别", "综合得分", "排名",
        "测算等次", "确定等次", "调整理由", "标记/说明", *(a["label"] for a in assessments),
    ]  # fmt: skip
    people = {who["appraisee_id"]: who for who in roster}
    recorded = read.app.find(UUID(campaign_id)).assessments
    results = queries.results(read, campaign_id, roles=roles)["results"]
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
                total_of(result),
                result["rank"],
                labels.grade(category, result.get("computed_grade", result["grade"])),
                labels.grade(category, result["grade"]),
                result.get("adjustment", {}).get("reason"),
                notes_of(labels, result),
                *(labels.assessment(a["code"], values.get(a["code"])) for a in assessments),
            )
        )
    return [header], rows


def expected_cards(
    read: ReadSide,
    campaign_id: str,
    roster: list[dict[str, Any]],
    labels: RuleLabels,
    roles: set[str],
    day: date,
) -> dict[str, tuple[list[list[Any]], list[tuple[Any, ...]]]]:
    """One 综合评价表 per appraisee of category `secretary`, as 项目/内容 rows."""
    results = {
        r["appraisee_id"]: r for r in queries.results(read, campaign_id, roles=roles)["results"]
    }
    recorded = read.app.find(UUID(campaign_id)).assessments
    plans = queries.rectifications(read, today=day, campaign_id=campaign_id, limit=None)["items"]
    cards = {}
    secretaries = [who for who in roster if who["category"] == "secretary"]
    for n, who in enumerate(secretaries, 1):
        appraisee = who["appraisee_id"]
        result = results[appraisee]
        category = who["category"]
        values = recorded.get(appraisee, {})
        items = [
            f"{i['description']}（{i['deadline']}前）"
            for p in plans
            if p["appraisee_id"] == appraisee
            for i in p["items"]
        ]
        rows = [
            ("单位", who["unit"]),
            ("姓名", who["name"]),
            ("职务", who["position"]),
            ("类别", labels.category(category)),
            ("综合得分", total_of(result)),
            ("排名", result["rank"]),
            *(
                (
                    f"{g['label']}得分",
                    (result["groups"][g["code"]].get("score") or DASH)
                    if shown_group(result, g["code"], roles)
                    else HIDDEN,
                )
                for g in labels.document["groups"]
            ),
            ("测算等次", labels.grade(category, result.get("computed_grade", result["grade"]))),
            ("确定等次", labels.grade(category, result["grade"])),
            ("调整理由", result.get("adjustment", {}).get("reason")),
            ("标记/说明", notes_of(labels, result)),
            *(
                (a["label"], labels.assessment(a["code"], values.get(a["code"])))
                for a in labels.document.get("assessments", [])
            ),
            ("问题整改", "\n".join(items) or None),
            ("综合评价", None),
            ("党工委意见", None),
        ]
        cards[f"综合评价表{n}-{who['name']}"] = ([["项目", "内容"]], rows)
    return cards


def expected_rectification(
    read: ReadSide, campaign_id: str, roster: list[dict[str, Any]], day: date
) -> tuple[list[list[Any]], list[tuple[Any, ...]]]:
    header = [
        "序号",
        "单位",
        "姓名",
        "问题/整改事项",
        "整改措施",
        "责任人",
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
                    item["measures"],
                    item["responsible"],
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
    first = first_data_row(sheet.title)
    headers = [list(row) for row in sheet.iter_rows(min_row=3, max_row=first - 1, values_only=True)]
    rest = list(sheet.iter_rows(min_row=first, values_only=True))
    footer = next(i for i, row in enumerate(rest) if str(row[0]).startswith("制表人"))
    return headers, rest[:footer], [row[0] for row in rest[footer:]]


def check_layout(
    sheet: Worksheet,
    campaign: dict[str, Any],
    day: date,
    checkpoint: dict[str, Any],
    status: str = "已定案",
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
        status,
    ):
        assert part in subtitle
    assert sheet["A3"].font.b and sheet["A3"].border.left.style == "thin"
    assert sheet.freeze_panes == frozen(sheet.title)
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
    expected = expected_sheets(read, campaign_id, demo_campaign["roster"], labels, AUDITOR, day)
    checkpoint = queries.latest_checkpoint(read)
    assert json.loads(result.stdout) == {
        "file": str(path),
        "campaign_id": campaign_id,
        "date": day.isoformat(),
        "sheets": {name: len(rows) for name, (_, rows) in expected.items()},
        "checkpoint": {"tree_size": checkpoint["tree_size"], "root": checkpoint["root"]},
    }
    compare_workbook(openpyxl.load_workbook(path), expected, read, campaign_id, day, checkpoint)
    return {name: rows for name, (_, rows) in expected.items()}


Sheets = dict[str, tuple[list[list[Any]], list[tuple[Any, ...]]]]


def expected_sheets(
    read: ReadSide,
    campaign_id: str,
    roster: list[dict[str, Any]],
    labels: RuleLabels,
    roles: set[str],
    day: date,
) -> Sheets:
    """Every sheet the workbook must hold, in order, as `roles` may see it."""
    return {
        SUMMARY: expected_summary(read, campaign_id, roster, labels, roles),
        GRADES: expected_grades(read, campaign_id, roster, labels, roles),
        **expected_cards(read, campaign_id, roster, labels, roles, day),
        RECTIFICATION: expected_rectification(read, campaign_id, roster, day),
    }


def compare_workbook(
    workbook: openpyxl.Workbook,
    expected: Sheets,
    read: ReadSide,
    campaign_id: str,
    day: date,
    checkpoint: dict[str, Any],
    status: str = "已定案",
) -> None:
    """The sheets in order, and each one cell by cell, with its layout."""
    assert workbook.sheetnames == list(expected)
    campaign = queries.campaign(read, campaign_id)
    for name, (want_headers, want_rows) in expected.items():
        sheet = workbook[name]
        headers, rows, _ = header_and_data(sheet)
        assert headers == want_headers, name
        assert len(rows) == len(want_rows), name
        for got, want in zip(rows, want_rows, strict=True):
            assert got == want, name
        check_layout(sheet, campaign, day, checkpoint, status)


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
