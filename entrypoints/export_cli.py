"""`appraisal export …`: a campaign's official forms as files for the organisation department."""

from datetime import date, datetime
from pathlib import Path

import click


@click.group()
def export() -> None:
    """Export a campaign's official forms (民主测评结果汇总表, 综合评价表, 问题整改清单)."""


# Imported after `export` exists: entrypoints.cli registers this group at its end, so either
# module may be imported first.
from entrypoints.cli import emit, err, one_line_errors, opened_services  # noqa: E402
from entrypoints.excel import Exported, export_workbook  # noqa: E402


@export.command("xlsx")
@click.argument("campaign_id")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="The workbook to write (replaced atomically if it exists).",
)
@click.option(
    "--date",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="填报日期, and the day rectification items are judged overdue (default: today).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@one_line_errors
def xlsx(campaign_id: str, output: Path, on: datetime | None, as_json: bool) -> None:
    """Write CAMPAIGN_ID's 民主测评结果汇总表, 综合评价表 and 问题整改清单 to one workbook,
    as an organizer or auditor sees them (every group's breakdown), with the ledger
    checkpoint the figures rest on in each sheet's footer."""
    today = on.date() if on is not None else date.today()
    with opened_services() as services, err.status("exporting") as status:
        exported = export_workbook(
            services, campaign_id, output, today, lambda step: status.update(step)
        )
    emit(exported.to_json(), as_json, lambda: _print(exported))


def _print(exported: Exported) -> None:
    sheets = "，".join(f"{name} {rows} 行" for name, rows in exported.sheets.items())
    click.echo(
        f"wrote {exported.path}: {sheets} (checkpoint {exported.checkpoint['tree_size']} "
        f"{exported.checkpoint['root']})"
    )
