"""The content of the official forms (seed 002 附件4, 6, 7) for one campaign, as one
reader may see them.

Every figure comes from the read models (`projections.queries`: the campaign, its
results as the reader's roles may see them, the per-meeting reconciliation, the counted
ballots and the rectification plans), so a form agrees with what the API serves that
reader. What no view holds comes from the event-sourced aggregates: the roster's names,
units and positions, the rules document (for labels) and the assessments from the
Campaign, which appraisees each meeting appraised, and the rows of the counted ballots
(for the per-choice counts).

The anonymity floor holds on paper as on the API (`projections.access.disclosure`): a
group the reader may not see for an appraisee reads 不公开 in its score and in its vote
counts. Scores are the display strings the results carry; exact fractions are for the
API and the audit, not for paper.

This module only decides what the forms say; `projections.workbook` lays them out.
"""

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any
from uuid import UUID

from domain.balloting import CastBallot, parse_rows
from domain.campaign import Campaign
from domain.roles import PRIVILEGED
from domain.rules import CONSEQUENCE_LABELS, GRADE_CHOICE, Rules
from domain.scoring import format_score
from projections import queries
from projections.access import privileged
from projections.read_side import ReadSide

Cell = str | int | None
DASH = "—"  # a value the form expects but the campaign does not (yet) have
HIDDEN = "不公开"  # below the group's anonymity floor for this reader
WRITE_IN = ""  # a cell left blank to be filled in by hand (a taller row on paper)
ABSTAIN = "弃权"

SUMMARY = "民主测评结果汇总表"  # 附件4
GRADES = "考核等次汇总表"  # the committee's table of all grades, beside 附件6
EVALUATION = "综合评价表"  # 附件6, one per party secretary
RECTIFICATION = "问题整改清单"  # 附件7
SECRETARY = "secretary"  # the category whose members each get a 附件6

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
    results: list[dict[str, Any]]  # as the reader's roles may see them
    meetings: list[dict[str, Any]]
    members: Mapping[str, Sequence[str]]  # meeting id -> the appraisee ids it appraised
    votes: Mapping[tuple[str, str], Counter[str]]  # (appraisee, group) -> choice -> votes
    plans: list[dict[str, Any]]
    today: date
    full: bool  # whether the reader sees every group (inspectors, auditors)


def gather(
    read: ReadSide,
    campaign_id: str,
    today: date,
    roles: Collection[str],
    min_position: int | None = None,
) -> Sources:
    """Read one campaign's forms' sources as `roles` may see them, once the views include
    ledger index `min_position`. Raises `domain.errors.NotFound` for an unknown campaign."""
    campaign = queries.campaign(read, campaign_id, min_position=min_position)
    campaign_id = campaign["campaign_id"]
    aggregate = read.app.find(UUID(campaign_id))
    assert isinstance(aggregate, Campaign), "queries.campaign found it above"
    meetings = queries.reconciliation(read, campaign_id, limit=None)["items"]
    loaded = read.app.load_many(UUID(m["meeting_id"]) for m in meetings)
    counted = queries.ballots(read, campaign_id, roles=PRIVILEGED, status="valid", limit=None)
    ballots = read.app.load_many(UUID(b["ballot_id"]) for b in counted["items"])
    return Sources(
        campaign=campaign,
        rules=aggregate.rules,
        roster=list(aggregate.appraisees.values()),
        assessments=aggregate.assessments,
        results=queries.results(read, campaign_id, roles=roles)["results"],
        meetings=meetings,
        members={str(key): meeting.appraisee_ids for key, meeting in loaded.items()},
        votes=votes(b for b in ballots.values() if isinstance(b, CastBallot)),
        plans=queries.rectifications(read, today=today, campaign_id=campaign_id, limit=None)[
            "items"
        ],
        today=today,
        full=privileged(roles),
    )


def votes(counted: Iterable[CastBallot]) -> dict[tuple[str, str], Counter[str]]:
    """Votes per choice (and ABSTAIN) for each appraisee in each group, over the ballots
    that count: valid and not voided."""
    tally: dict[tuple[str, str], Counter[str]] = {}
    for ballot in counted:
        for row in parse_rows(ballot.rows):
            choice = ABSTAIN if row.abstain else row.choice
            if choice is not None:
                tally.setdefault((row.appraisee_id, ballot.group), Counter())[choice] += 1
    return tally


def status_label(code: str) -> str:
    return CAMPAIGN_STATUS.get(code, code)


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


def _groups_of(sources: Sources, appraisee_id: str) -> dict[str, dict[str, Any]] | None:
    """The appraisee's groups as the reader sees them; None before any result exists."""
    result = next((r for r in sources.results if r["appraisee_id"] == appraisee_id), None)
    return None if result is None else result["groups"]


def _shown(sources: Sources, groups: Mapping[str, Any] | None, code: str) -> bool:
    """Whether the reader may see a group's breakdown for one appraisee: as the results
    disclose it, and before any result only if the reader sees every group."""
    if groups is None:
        return sources.full
    return not groups.get(code, {}).get("hidden", False)


def _rate(part: int, whole: int) -> str:
    return DASH if whole == 0 else f"{format_score(Fraction(100 * part, whole))}%"


def summary_form(sources: Sources) -> Form:
    """民主测评结果汇总表: per appraisee and evaluator group, the ballots of the meetings
    that appraised them (issued, returned, valid), the votes for each choice and
    abstentions with the top choice's share (优秀率), and the group's score."""
    labels = Labels(sources.rules)
    choices = sources.rules.choices
    # The best choice (优秀), whose share 优秀率 is; a grade_choice group has choices.
    top = max(choices, key=lambda c: c.score, default=None)
    columns = [*IDENTITY]
    for group in sources.rules.groups:
        columns += [Column(label, group.label) for label, _ in BALLOT_COUNTS]
        if group.form == GRADE_CHOICE and top is not None:
            columns += [Column(c.label, group.label) for c in choices]
            columns += [Column(ABSTAIN, group.label), Column(f"{top.label}率", group.label)]
        columns.append(Column("得分", group.label))
    rows = []
    for n, who in enumerate(sources.roster, 1):
        appraisee_id = who["appraisee_id"]
        meetings = [m for m in sources.meetings if appraisee_id in sources.members[m["meeting_id"]]]
        groups = _groups_of(sources, appraisee_id)
        row = list(_identity(n, who, labels))
        for group in sources.rules.groups:
            row += [
                sum(m["groups"].get(group.code, {}).get(key, 0) for m in meetings)
                for _, key in BALLOT_COUNTS
            ]
            shown = _shown(sources, groups, group.code)
            if group.form == GRADE_CHOICE and top is not None:
                cast = sources.votes.get((appraisee_id, group.code), Counter())
                counts = [*(cast[c.code] for c in choices), cast[ABSTAIN]]
                rate = _rate(cast[top.code], sum(cast.values()))
                row += [*counts, rate] if shown else [HIDDEN] * (len(counts) + 1)
            score = (groups or {}).get(group.code, {}).get("score")
            row.append(score or DASH if shown else HIDDEN)
        rows.append(tuple(row))
    return Form(SUMMARY, tuple(columns), rows, len(IDENTITY), _floor_remark(sources))


def _floor_remark(sources: Sources) -> str:
    counts = (
        "票数为对其测评的会议中该组的票数（收回＝投出，有效＝有效且未作废），各选项票数只计有效票"
    )
    if sources.full:
        return f"{counts}；纪检、审计视图：各测评组明细全部列出"
    return f"{counts}；票数少于匿名展示下限的测评组不公开其得分和票数"


def _total(result: Mapping[str, Any]) -> Cell:
    """The comprehensive score, or why there is none: no result, or shielded by the floor."""
    if not result:
        return DASH
    if result["score"] is None and any(g.get("hidden") for g in result["groups"].values()):
        return HIDDEN
    return result["score"] or DASH


def _notes(labels: Labels, result: Mapping[str, Any]) -> str | None:
    """Flags and consequences in words, one per line (标记/说明)."""
    lines = [
        *(labels.flag(f) for f in result.get("flags", [])),
        *(labels.consequence(c) for c in result.get("consequences", [])),
    ]
    return "\n".join(lines) or None


def grades_form(sources: Sources) -> Form:
    """考核等次汇总表: per appraisee the comprehensive score, rank, the computed and the
    decided grade with the committee's reason, flags and consequences, assessments."""
    labels = Labels(sources.rules)
    assessments = sources.rules.assessments
    decided = sources.campaign["approval_position"] is not None
    columns = (
        *IDENTITY,
        Column("综合得分"),
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
        recorded = sources.assessments.get(appraisee_id, {})
        rows.append(
            (
                *_identity(n, who, labels),
                _total(result),
                result.get("rank") or DASH,
                labels.grade(category, result.get("computed_grade", grade)),
                labels.grade(category, grade) if decided else AWAITING_DECISION,
                (result.get("adjustment") or {}).get("reason"),
                _notes(labels, result),
                *(labels.assessment(a.code, recorded.get(a.code)) for a in assessments),
            )
        )
    return Form(GRADES, columns, rows, len(IDENTITY), _floor_remark(sources))


CARD = (Column("项目"), Column("内容", wide=True))
MAX_SHEET_NAME = 31  # Excel's limit
NOT_IN_SHEET_NAMES = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))


def evaluation_forms(sources: Sources) -> list[Form]:
    """综合评价表 (附件6): one per party secretary (the rules' category `secretary`; a
    campaign without it has none), with each group's score as the reader may see it,
    the grades, the committee's reason, flags and consequences, assessments, the
    rectification items, and blanks for the written evaluation and the committee's
    opinion."""
    labels = Labels(sources.rules)
    results = {r["appraisee_id"]: r for r in sources.results}
    decided = sources.campaign["approval_position"] is not None
    secretaries = [who for who in sources.roster if who["category"] == SECRETARY]
    built = []
    for n, who in enumerate(secretaries, 1):
        appraisee_id = who["appraisee_id"]
        result = results.get(appraisee_id, {})
        groups = result.get("groups")
        grade = result.get("grade")
        recorded = sources.assessments.get(appraisee_id, {})
        rows: list[tuple[Cell, ...]] = [
            ("单位", who["unit"]),
            ("姓名", who["name"]),
            ("职务", who["position"]),
            ("类别", labels.category(who["category"])),
            ("综合得分", _total(result)),
            ("排名", result.get("rank") or DASH),
        ]
        for group in sources.rules.groups:
            scored = (groups or {}).get(group.code, {})
            shown = _shown(sources, groups, group.code)
            value = scored.get("score") or DASH if shown else HIDDEN
            rows.append((f"{group.label}得分", value))
        rows += [
            ("测算等次", labels.grade(who["category"], result.get("computed_grade", grade))),
            (
                "确定等次",
                labels.grade(who["category"], grade) if decided else AWAITING_DECISION,
            ),
            ("调整理由", (result.get("adjustment") or {}).get("reason")),
            ("标记/说明", _notes(labels, result)),
            *(
                (a.label, labels.assessment(a.code, recorded.get(a.code)))
                for a in sources.rules.assessments
            ),
            ("问题整改", _items_of(sources, appraisee_id)),
            ("综合评价", WRITE_IN),
            ("党工委意见", WRITE_IN),
        ]
        name = f"{EVALUATION}{n}-{who['name']}".translate(NOT_IN_SHEET_NAMES)
        built.append(Form(name[:MAX_SHEET_NAME], CARD, rows, 1, _floor_remark(sources)))
    return built


def _items_of(sources: Sources, appraisee_id: str) -> str | None:
    """The appraisee's rectification items, one per line, with their deadlines."""
    lines = [
        f"{item['description']}（{item['deadline']}前）"
        for plan in sources.plans
        if plan["appraisee_id"] == appraisee_id
        for item in plan["items"]
    ]
    return "\n".join(lines) or None


def rectification_form(sources: Sources) -> Form:
    """问题整改清单: every rectification item with its measures, the person responsible,
    its deadline, progress, follow-up checks (回头看), status and whether it is overdue
    on the export date."""
    roster = {who["appraisee_id"]: who for who in sources.roster}
    columns = (
        Column("序号"),
        Column("单位"),
        Column("姓名"),
        Column("问题/整改事项", wide=True),
        Column("整改措施", wide=True),
        Column("责任人"),
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
                    item["measures"],
                    item["responsible"],
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
    status = status_label(campaign["status"])
    window_ends = campaign["window_ends"]
    if window_ends is None:
        return status
    return f"{status}（公示期至{window_ends[:10]}）"


def forms(sources: Sources) -> tuple[Form, ...]:
    """The workbook's sheets in the order filed: 附件4, the grades, 附件6 per secretary, 附件7."""
    return (
        summary_form(sources),
        grades_form(sources),
        *evaluation_forms(sources),
        rectification_form(sources),
    )
