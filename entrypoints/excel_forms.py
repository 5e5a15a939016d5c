"""The content of the official forms (seed 002 附件4, 6, 7) for one campaign.

Every figure comes from the read models (`projections.queries`: the campaign,
its results in the privileged view, the per-meeting reconciliation and the
rectification plans), so a printed form agrees with what the API serves. What
no view holds comes from the event-sourced aggregates: the roster's names,
units and positions, the rules document (for labels) and the assessments from
the Campaign, and which appraisees each meeting appraised from its Meeting.

This module only decides what the forms say; `entrypoints.excel` lays them out.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from bootstrap import Services
from domain.campaign import Campaign
from domain.rules import CONSEQUENCE_LABELS, Rules
from projections import catch_up, queries

Cell = str | int | None
DASH = "—"  # a value the form expects but the campaign does not (yet) have

SUMMARY = "民主测评结果汇总表"
EVALUATION = "综合评价表"
RECTIFICATION = "问题整改清单"

# The ballot counts a meeting's reconciliation gives per group, as the form's columns:
# 发出 = issued, 收回 = cast, 有效 = valid and not voided (counted).
BALLOT_COUNTS = (("发出票数", "issued"), ("收回票数", "cast"), ("有效票数", "counted"))

CAMPAIGN_STATUS = {
    "draft": "草拟",
    "published": "述职测评中",
    "proposed": "结果已测算，待审定",
    "approved": "已审定，待公示",
    "publicized": "公示中",
    "reopened": "争议成立，待重新测算",
    "finalized": "已定案",
}
ITEM_STATUS = {
    "open": "未开始",
    "in_progress": "整改中",
    "done": "已完成，待回头看",
    "verified": "回头看通过",
}
PLAN_CLOSED = "已销号"
AWAITING_DECISION = "待研究确定"


@dataclass(frozen=True)
class Column:
    """A form column; `group` is a header spanning the columns that share it."""

    label: str
    group: str | None = None
    wide: bool = False  # free text: left-aligned, wrapped, given more width


@dataclass(frozen=True)
class Form:
    """One official form: a sheet's columns and data rows, before any layout."""

    name: str
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]]
    frozen_columns: int  # the identifying columns kept in view when scrolling right
    remark: str = ""  # said in the subtitle after the campaign's particulars


@dataclass(frozen=True)
class Sources:
    """Everything the forms are built from, read once so that they agree."""

    campaign: dict[str, Any]
    rules: Rules
    roster: list[dict[str, Any]]
    assessments: Mapping[str, Mapping[str, str]]
    results: list[dict[str, Any]]
    meetings: list[dict[str, Any]]
    members: Mapping[str, Sequence[str]]  # meeting id -> the appraisee ids it appraised
    plans: list[dict[str, Any]]
    today: date


def gather(services: Services, campaign_id: str, today: date) -> Sources:
    """Bring the views up to date and read one campaign's forms' sources.

    Raises `domain.errors.NotFound` for an unknown campaign.
    """
    read = services.read
    catch_up(read)
    campaign = queries.campaign(read, campaign_id)
    campaign_id = campaign["campaign_id"]
    aggregate = read.app.find(UUID(campaign_id))
    assert isinstance(aggregate, Campaign), "queries.campaign found it above"
    meetings = queries.reconciliation(read, campaign_id, limit=None)["items"]
    loaded = read.app.load_many(UUID(m["meeting_id"]) for m in meetings)
    return Sources(
        campaign=campaign,
        rules=aggregate.rules,
        roster=list(aggregate.appraisees.values()),
        assessments=aggregate.assessments,
        results=queries.results(read, campaign_id, roles=queries.PRIVILEGED)["results"],
        meetings=meetings,
        members={str(key): meeting.appraisee_ids for key, meeting in loaded.items()},
        plans=queries.rectifications(read, today=today, campaign_id=campaign_id, limit=None)[
            "items"
        ],
        today=today,
    )


class Labels:
    """Codes as the campaign's rules name them, so the forms speak the rules' language."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.categories = rules.labels()["categories"]
        self.groups = {g.code: g for g in rules.groups}
        self.linked = {r.code: r.reason for r in rules.linked_rules}
        self.cross_year = {r.flag: r.reason for r in rules.cross_year}

    def category(self, code: str) -> str:
        return self.categories.get(code, code)

    def grade(self, category: str, code: str | None) -> str:
        if code is None:
            return DASH
        return next((g.label for g in self.rules.grades_for(category) if g.code == code), code)

    def assessment(self, code: str, value: str | None) -> str | None:
        if value is None:
            return None
        declared = next(a for a in self.rules.assessments if a.code == code)
        return next((v.label for v in declared.values if v.code == value), value)

    @staticmethod
    def consequence(consequence: Mapping[str, Any]) -> str:
        """A consequence the approved grade entails (约谈, 限期整改, 组织处理): why, and by when."""
        due = f"，{consequence['due']}前完成" if "due" in consequence else ""
        return f"{CONSEQUENCE_LABELS[consequence['kind']]}：{consequence['reason']}{due}"

    def flag(self, flag: str) -> str:
        """A result flag (DESIGN §5 steps 3, 5 and 6) with its reason, in words."""
        kind, _, code = flag.partition(":")
        if kind == "linked_rule" and code in self.linked:
            return f"联动规则：{self.linked[code]}"
        if kind == "missing_group" and code in self.groups:
            group = self.groups[code]
            return f"缺少测评组“{group.label}”：计分票数不足{group.min_ballots}张"
        if flag == "quota_tie":
            return "名额边界并列：并列者均未评定该等次，提请研究确定"
        if flag == "quota_floor_zero":
            return "名额为零：比例×人数向下取整为0，该等次本类别无名额"
        if flag == "renormalized":
            return "有测评组缺失，其余测评组权重按比例折算"
        if flag in self.cross_year:
            return f"跨年度：{self.cross_year[flag] or flag}"
        return flag


IDENTITY = (Column("序号"), Column("单位"), Column("姓名"), Column("职务"), Column("类别"))


def _identity(n: int, who: Mapping[str, Any], labels: Labels) -> tuple[Cell, ...]:
    return n, who["unit"], who["name"], who["position"], labels.category(who["category"])


def summary_form(sources: Sources) -> Form:
    """民主测评结果汇总表: per appraisee and evaluator group, the ballots of the meetings
    that appraised them (issued, returned, valid) and the group's score."""
    labels = Labels(sources.rules)
    results = {r["appraisee_id"]: r for r in sources.results}
    columns = [*IDENTITY]
    for group in sources.rules.groups:
        columns += [Column(label, group.label) for label, _ in BALLOT_COUNTS]
        columns += [Column("得分", group.label), Column("精确值", group.label)]
    rows = []
    for n, who in enumerate(sources.roster, 1):
        appraisee_id = who["appraisee_id"]
        meetings = [m for m in sources.meetings if appraisee_id in sources.members[m["meeting_id"]]]
        groups = results.get(appraisee_id, {}).get("groups", {})
        row = list(_identity(n, who, labels))
        for group in sources.rules.groups:
            row += [
                sum(m["groups"].get(group.code, {}).get(key, 0) for m in meetings)
                for _, key in BALLOT_COUNTS
            ]
            scored = groups.get(group.code, {})
            row += [scored.get("score") or DASH, scored.get("score_exact") or DASH]
        rows.append(tuple(row))
    return Form(
        SUMMARY,
        tuple(columns),
        rows,
        len(IDENTITY),
        "票数为对其测评的会议中该组的票数（收回＝投出，有效＝有效且未作废）；"
        "组织部门审核视图：各测评组明细全部列出，不受匿名展示下限限制",
    )


def evaluation_form(sources: Sources) -> Form:
    """综合评价表: per appraisee the comprehensive score (display and exact), rank, the
    computed and the decided grade with the committee's reason, flags and consequences,
    assessments."""
    labels = Labels(sources.rules)
    assessments = sources.rules.assessments
    decided = sources.campaign["approval_position"] is not None
    columns = (
        *IDENTITY,
        Column("综合得分"),
        Column("精确值"),
        Column("排名"),
        Column("测算等次"),
        Column("确定等次"),
        Column("调整理由", wide=True),
        Column("标记/说明", wide=True),
        *(Column(a.label, wide=True) for a in assessments),
    )
    roster = {who["appraisee_id"]: who for who in sources.roster}
    results = {r["appraisee_id"]: r for r in sources.results}
    order = [*results, *(a for a in roster if a not in results)]
    rows = []
    for n, appraisee_id in enumerate(order, 1):
        who = roster[appraisee_id]
        result = results.get(appraisee_id, {})
        category = who["category"]
        grade = result.get("grade")
        adjustment = result.get("adjustment") or {}
        recorded = sources.assessments.get(appraisee_id, {})
        rows.append(
            (
                *_identity(n, who, labels),
                result.get("score") or DASH,
                result.get("score_exact") or DASH,
                result.get("rank") or DASH,
                labels.grade(category, result.get("computed_grade", grade)),
                labels.grade(category, grade) if decided else AWAITING_DECISION,
                adjustment.get("reason"),
                "\n".join(
                    [
                        *(labels.flag(f) for f in result.get("flags", [])),
                        *(labels.consequence(c) for c in result.get("consequences", [])),
                    ]
                )
                or None,
                *(labels.assessment(a.code, recorded.get(a.code)) for a in assessments),
            )
        )
    return Form(EVALUATION, columns, rows, len(IDENTITY))


def rectification_form(sources: Sources) -> Form:
    """问题整改清单: every rectification item with its deadline, progress, follow-up
    checks (回头看), status and whether it is overdue on the export date."""
    roster = {who["appraisee_id"]: who for who in sources.roster}
    columns = (
        Column("序号"),
        Column("单位"),
        Column("姓名"),
        Column("问题/整改事项", wide=True),
        Column("整改时限"),
        Column("进展情况", wide=True),
        Column("回头看结果", wide=True),
        Column("状态"),
        Column("是否逾期"),
    )
    rows: list[tuple[Cell, ...]] = []
    for plan in sources.plans:
        who = roster[plan["appraisee_id"]]
        for item in plan["items"]:
            rows.append(
                (
                    len(rows) + 1,
                    who["unit"],
                    who["name"],
                    item["description"],
                    item["deadline"],
                    "\n".join(_progress(p) for p in item["progress"]) or None,
                    "\n".join(_check(c) for c in item["checks"]) or None,
                    PLAN_CLOSED if plan["closed"] else ITEM_STATUS[item["status"]],
                    "是" if item["overdue"] else "否",
                )
            )
    return Form(RECTIFICATION, columns, rows, 3, f"逾期按{sources.today.isoformat()}判定")


def _progress(entry: Mapping[str, Any]) -> str:
    return f"{entry['on']} {entry['note']}" + ("（已完成）" if entry["done"] else "")


def _check(entry: Mapping[str, Any]) -> str:
    return f"{entry['on']} {'通过' if entry['passed'] else '未通过'}：{entry['note']}"


def campaign_status(campaign: Mapping[str, Any]) -> str:
    """The campaign's stage as the subtitle's 公示/状态 says it, with the 公示 window."""
    status = CAMPAIGN_STATUS.get(campaign["status"], campaign["status"])
    window_ends = campaign["window_ends"]
    if window_ends is None:
        return status
    return f"{status}（公示期至{window_ends[:10]}）"


def forms(sources: Sources) -> tuple[Form, ...]:
    return summary_form(sources), evaluation_form(sources), rectification_form(sources)
