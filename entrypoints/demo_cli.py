"""`appraisal demo`: run the sample campaigns, print their results and the audit verdict."""

import json
import sys
import uuid
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from domain.campaign import Campaign
from entrypoints.demo import run_demo
from projections.forms import Labels, status_label
from service.audit import export_bundle, verify_bundle
from service.settings import Settings
from service.system import System

COLUMNS = ("单位", "姓名", "职务", "类别", "得分", "名次", "测算", "确定", "标记")


def campaign_results(system: System, campaign_id: str) -> dict[str, Any]:
    """One campaign's approved results, with names and the rules' labels (category,
    grade, flag wording, status), for people and --json."""
    campaign = system.app.get(uuid.UUID(campaign_id), Campaign)
    rules = campaign.rules
    wording = Labels(rules)
    labels = rules.labels()["grades"]
    rows = []
    for approved in campaign.results_as_approved():
        result = approved.computed
        who = campaign.appraisees[approved.appraisee_id]
        rows.append(
            {
                "appraisee_id": approved.appraisee_id,
                "unit": who["unit"],
                "name": who["name"],
                "position": who["position"],
                "category": result["category"],
                "category_label": wording.category(result["category"]),
                "score": result.get("score"),
                "score_exact": result.get("score_exact"),
                "rank": result["rank"],
                "computed_grade": approved.computed_grade,
                "grade": approved.grade,
                "adjustment_reason": approved.adjustment_reason,
                "flags": result["flags"],
                "flag_labels": [wording.flag(f) for f in result["flags"]],
            }
        )
    return {
        "campaign_id": campaign_id,
        "title": campaign.title,
        "status": campaign.status,
        "status_label": status_label(campaign.status),
        "labels": labels,
        "results": rows,
    }


def results_table(results: dict[str, Any]) -> Table:
    """Narrow enough for an 80-column terminal; adjustment reasons go in the caption."""
    labels = results["labels"]
    table = Table(title=f"{results['title']}（{results['status_label']}）", caption_justify="left")
    for column in COLUMNS:
        table.add_column(column, overflow="fold")
    notes = []
    for row in results["results"]:
        computed = labels.get(row["computed_grade"], "—")
        final = labels.get(row["grade"], "—")
        if row["adjustment_reason"]:
            notes.append(f"* {row['name']}：{computed} → {final}，{row['adjustment_reason']}")
            final += "*"
        table.add_row(
            row["unit"],
            row["name"],
            row["position"],
            row["category_label"],
            row["score"] or "—",
            str(row["rank"] or "—"),
            computed,
            final,
            "\n".join(row["flag_labels"]),
        )
    if notes:
        table.caption = "\n".join(["党委（委员会）调整：", *notes])
    return table


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
def demo(as_json: bool) -> None:
    """Run two complete sample campaigns on the configured store (SQLite by default),
    then export an audit bundle and verify it as an auditor would."""
    console = Console(stderr=as_json)
    if not console.is_terminal:
        console.width = max(console.width, 120)  # logs and pipes are not 80 columns wide
    settings = Settings.from_env()
    summary = run_demo(settings, console.print)
    system = System.open(settings)
    try:
        results = [campaign_results(system, c["campaign_id"]) for c in summary["campaigns"]]
        bundle = export_bundle(system, settings.data_dir / "audit-bundle.jsonl")
        log_key = system.ledger.log_public_key
    finally:
        system.close()
    # The auditor's side: nothing but the exported file and the log's public key.
    report = verify_bundle(bundle.path, log_key)
    if as_json:
        document = {
            "campaigns": results,
            "commands": summary["commands"],
            "bundle": bundle.to_json(),
            "audit": report.to_json(),
        }
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        for campaign in results:
            console.print(results_table(campaign))
        console.print(
            f"共{summary['commands']}条签名指令；"
            f"审计包 {bundle.path}（{bundle.tree_size}条账本记录）"
        )
        console.print(
            f"离线审计：通过（{report.entries}条记录，{report.envelopes}个签名，"
            f"重新计票{report.ballots_counted}张，重新测算{len(report.campaigns)}次评议活动）"
            if report.ok
            else f"离线审计：未通过 — {report.finding}"
        )
    if not report.ok:
        sys.exit(1)
