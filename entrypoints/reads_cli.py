"""`appraisal campaigns list`, `appraisal results show CAMPAIGN` and `appraisal
consequences show CAMPAIGN`: the read models as an office clerk reads them, in Chinese
labels, on the server's own store.

Campaigns and results show what any logged-in reader may see (groups below their
anonymity floor stay hidden): the operator's terminal is not a way round the read rules.
Consequences are the organiser's list of who must be interviewed and whose
rectification plan is missing or overdue, as the 问题整改清单 export is. Without a read
replica the views are first brought up to date (as `appraisal projections run --once`);
with one, the replica's views are read as they stand.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import wraps
from typing import Any
from uuid import UUID

import click
from rich.console import Console
from rich.table import Table

from bootstrap import Services
from domain.campaign import Campaign
from domain.errors import DomainError
from projections import catch_up, queries
from projections.forms import Labels, status_label
from service.settings import Settings, SettingsError

PUBLIC_READER: frozenset[str] = frozenset()  # no role that lifts the anonymity floor


def _clean_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """An expected failure becomes a one-line message and exit status 1."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (DomainError, SettingsError, OSError) as exc:
            raise click.ClickException(getattr(exc, "message", None) or str(exc)) from exc

    return run


@contextmanager
def _current_views() -> Iterator[Services]:
    settings = Settings.from_env()
    services = Services.open(settings)
    try:
        if settings.read_database_url is None:
            catch_up(services.read)
        yield services
    finally:
        services.close()


def _print(document: dict[str, Any], table: Table, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        Console(width=max(Console().width, 120)).print(table)


@click.group()
def campaigns() -> None:
    """Campaigns on this store."""


@campaigns.command("list")
@click.option("--year", type=click.IntRange(2000, 2100), help="Only this year's campaigns.")
@click.option("--json", "as_json", is_flag=True, help="Print the listing as JSON.")
@_clean_errors
def list_campaigns(year: int | None, as_json: bool) -> None:
    """Every campaign in creation order: title, year, status, roster size, meetings."""
    with _current_views() as services:
        listing = queries.campaigns(services.read, year=year, limit=None)
    table = Table("编号", "年度", "名称", "状态", "人数", "测评会", title="评议活动")
    for c in listing["items"]:
        table.add_row(
            c["campaign_id"],
            str(c["year"]),
            c["title"],
            status_label(c["status"]),
            str(c["appraisees"]),
            str(len(c["meetings"])),
        )
    _print(listing, table, as_json)


@click.group()
def results() -> None:
    """A campaign's results."""


@results.command("show")
@click.argument("campaign_id")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@_clean_errors
def show_results(campaign_id: str, as_json: bool) -> None:
    """The results as of the latest proposal or approval, with names and labels."""
    with _current_views() as services:
        shown = queries.results(services.read, campaign_id, roles=PUBLIC_READER)
        title = queries.campaign(services.read, campaign_id)["title"]
        campaign = services.read.app.get(UUID(shown["campaign_id"]), Campaign)
    wording = Labels(campaign.rules)
    status = status_label(shown["status"])
    table = Table("单位", "姓名", "职务", "类别", "得分", "名次", "等次", "标记")
    table.title = f"{title}（{status}）"
    for r in shown["results"]:
        grade = r["grade_label"] or r["grade"] or "—"
        if "adjustment" in r:
            grade += "（调整）"
        table.add_row(
            r["unit"] or "",
            r["name"] or r["appraisee_id"],
            r["position"] or "",
            r["category_label"] or r["category"],
            r["score"] or "—",
            "" if r["rank"] is None else str(r["rank"]),
            grade,
            "\n".join(wording.flag(f) for f in r["flags"]),
        )
    if not shown["results"]:
        table.caption = "尚无测算结果"
    _print(shown, table, as_json)


TRACKING_LABELS = {"missing": "未制定整改清单", "open": "整改中", "closed": "已销号"}


@click.group()
def consequences() -> None:
    """What a campaign's approved results entail: 约谈, 限期整改, 组织处理."""


@consequences.command("show")
@click.argument("campaign_id")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day overdue is judged on (default: today).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the consequences as JSON.")
@_clean_errors
def show_consequences(campaign_id: str, today: datetime | None, as_json: bool) -> None:
    """Each consequence with its reason, and whether the rectification plan a 限期整改
    requires is missing, open or closed, and overdue (past 期限 or an item's deadline)."""
    day = date.today() if today is None else today.date()
    with _current_views() as services:
        shown = queries.consequences(services.read, campaign_id, today=day)
        title = queries.campaign(services.read, campaign_id)["title"]
    status = status_label(shown["status"])
    table = Table("单位", "姓名", "职务", "等次", "处理", "原因", "期限", "落实情况")
    table.title = f"{title}（{status}）结果运用"
    for item in shown["items"]:
        tracking = item["tracking"]
        state = ""
        if tracking is not None:
            state = TRACKING_LABELS[tracking["status"]] + (
                "，已逾期" if tracking["overdue"] else ""
            )
        elif item["kind"] == "interview":
            state = "待约谈" if item["held_on"] is None else f"{item['held_on']}已约谈"
        table.add_row(
            item["unit"] or "",
            item["name"] or item["appraisee_id"],
            item["position"] or "",
            item["grade_label"] or item["grade"] or "—",
            item["kind_label"] or item["kind"],
            item["reason"],
            item["due"]
            or ("" if item["within_days"] is None else f"公示后{item['within_days']}天"),
            state,
        )
    summary = shown["summary"]
    table.caption = (
        f"截至{shown['today']}：未制定整改清单 {summary['missing']}，整改中 {summary['open']}，"
        f"已销号 {summary['closed']}，逾期 {summary['overdue']}，"
        f"待约谈 {summary['interviews_pending']}"
        if shown["items"]
        else "审定结果无需约谈、整改或组织处理"
    )
    _print(shown, table, as_json)
