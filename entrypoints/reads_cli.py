"""`appraisal campaigns list` and `appraisal results show CAMPAIGN`: the read models on
the operator's terminal, as rich tables in the rules' own (Chinese) labels.

They read the configured store in-process through the read side, after catching the
views up, as `appraisal export xlsx` does, and in the same view: the operator on the
server's host sees what an organizer or auditor sees (every group's breakdown).
"""

from typing import Any
from uuid import UUID

import click
from rich.console import Console
from rich.table import Table

from domain.campaign import Campaign
from entrypoints.cli import emit, one_line_errors, opened_services
from entrypoints.excel_forms import DASH, Labels, campaign_status
from projections import catch_up, queries

out = Console()


@click.group()
def campaigns() -> None:
    """Campaigns in the configured store."""


@campaigns.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@one_line_errors
def list_campaigns(as_json: bool) -> None:
    """Every campaign with its year, status (in words), roster size and meetings."""
    with opened_services() as services:
        catch_up(services.read)
        items = queries.campaigns(services.read, limit=None)["items"]
    emit(items, as_json, lambda: out.print(campaigns_table(items)))


def campaigns_table(items: list[dict[str, Any]]) -> Table:
    table = Table("测评活动", "年度", "状态", "测评对象", "测评会议", "ID", title="测评活动")
    for item in items:
        table.add_row(
            item["title"],
            str(item["year"]),
            campaign_status(item),
            str(item["appraisees"]),
            str(len(item["meetings"])),
            item["campaign_id"],
        )
    return table


@click.group()
def results() -> None:
    """A campaign's results."""


@results.command("show")
@click.argument("campaign_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@one_line_errors
def show(campaign_id: str, as_json: bool) -> None:
    """CAMPAIGN's results as of its latest proposal or approval, with names and labels."""
    with opened_services() as services:
        read = services.read
        catch_up(read)
        found = queries.results(read, campaign_id, roles=queries.PRIVILEGED)
        campaign = read.app.get(UUID(found["campaign_id"]), Campaign)
        title = queries.campaign(read, found["campaign_id"])
    emit(found, as_json, lambda: out.print(results_table(found, campaign, title)))


def results_table(found: dict[str, Any], campaign: Campaign, about: dict[str, Any]) -> Table:
    labels = Labels(campaign.rules)
    groups = campaign.rules.groups
    table = Table(
        "排名",
        "姓名",
        "职务",
        "单位",
        "类别",
        *(g.label for g in groups),
        "综合得分",
        "等次",
        "标记/说明",
        title=f"{about['title']}（{campaign_status(about)}）",
    )
    for result in found["results"]:
        who = campaign.appraisees[result["appraisee_id"]]
        scored = result["groups"]
        table.add_row(
            str(result["rank"] or DASH),
            who["name"],
            who["position"],
            who["unit"],
            labels.category(result["category"]),
            *(scored.get(g.code, {}).get("score") or DASH for g in groups),
            result["score"] or DASH,
            labels.grade(result["category"], result["grade"]),
            "；".join(labels.flag(f) for f in result["flags"]),
        )
    if not found["results"]:
        table.caption = "尚无测算结果"
    return table
