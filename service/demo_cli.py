"""`appraisal demo`: run the sample campaigns, print their results and the audit verdict."""

import uuid
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from domain.campaign import Campaign
from service.demo import run_demo
from service.settings import Settings
from service.system import System

out = Console()


def results_table(system: System, summary: dict[str, Any]) -> Table:
    campaign: Campaign = system.app.find(uuid.UUID(summary["campaign_id"]))
    rules = campaign.rules
    labels = {g.code: g.label for c in rules.categories for g in c.grades}
    labels.update({g.code: g.label for g in rules.grades})
    adjustments = {a["appraisee_id"]: a for a in campaign.approved["adjustments"]}
    table = Table(title=f"{campaign.title} — {campaign.status}", show_lines=False)
    for column in (
        "单位",
        "姓名/对象",
        "类别",
        "综合得分",
        "精确值",
        "排名",
        "测算等次",
        "确定等次",
        "标记",
    ):
        table.add_column(column)
    for result in campaign.proposal["results"]:
        who = campaign.appraisees[result["appraisee_id"]]
        computed = labels.get(result["grade"], result["grade"] or "—")
        adjusted = adjustments.get(result["appraisee_id"])
        final = (
            f"{labels[adjusted['grade']]}（调整：{adjusted['reason']}）" if adjusted else computed
        )
        table.add_row(
            who["unit"],
            who["name"],
            result["category"],
            result.get("score") or "—",
            result.get("score_exact") or "—",
            str(result["rank"] or "—"),
            computed,
            final,
            ", ".join(result["flags"]),
        )
    return table


@click.command()
def demo() -> None:
    """Run two complete sample campaigns on the configured store (SQLite by default)."""
    settings = Settings.from_env()
    summary = run_demo(settings, lambda line: out.print(line))
    system = System.open(settings)
    try:
        for campaign in summary["campaigns"]:
            out.print(results_table(system, campaign))
        out.print(f"{summary['commands']} signed commands, ledger size {system.ledger.size()}")
    finally:
        system.close()
