"""`appraisal rules …`: check a rules document offline before a campaign is created.

`check` runs the very parser `campaign.create` runs (`domain.rules.parse_rules`), so a
file it accepts the server accepts, and a file it refuses fails with the server's own
message, naming the place with a JSON pointer (docs/RULES.md is the reference).
"""

from typing import Any

import click

from domain.rules import Rules, parse_rules
from entrypoints.cli import emit, one_line_errors, read_json


@click.group()
def rules() -> None:
    """Rules documents (DESIGN §5, docs/RULES.md)."""


@rules.command()
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@one_line_errors
def check(file: str, as_json: bool) -> None:
    """Validate the rules document FILE ('-' for stdin) exactly as the server would."""
    parsed = parse_rules(read_json(file))
    summary = _summary(parsed)
    emit(summary, as_json, lambda: click.echo(_describe(summary)))


def _summary(parsed: Rules) -> dict[str, Any]:
    return {
        "valid": True,
        "groups": [g.code for g in parsed.groups],
        "categories": {
            code: [g.code for g in parsed.grades_for(code)] for code in parsed.category_codes
        },
        "approval_min_signatures": parsed.min_signatures,
    }


def _describe(summary: dict[str, Any]) -> str:
    categories = "; ".join(
        f"{code}: {' > '.join(grades)}" for code, grades in summary["categories"].items()
    )
    return f"ok: groups {', '.join(summary['groups'])}; grades by category {categories}"
