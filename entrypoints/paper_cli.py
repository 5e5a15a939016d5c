"""`appraisal paper enter`: a teller types in one paper ballot, reads it back, confirms.

The entry is checked against the meeting's public ballot definition (GET
/api/v1/meetings/{id}/ballot?group=G, the one a ballot page draws): one choice per
appraisee, in the definition's order, each given as its code or its Chinese label
(优秀, 称职…), or 弃权 to abstain. A value that is neither is refused here, before
anything is signed, so a typing slip no longer spends the serial. The entry is printed
back as names and Chinese labels, with a warning when the server would count it
invalid (over a choice's share); the teller confirms (or passes --yes), and only then
is it signed with the teller's key and sent. A refusal prints the problem in Chinese.
"""

import math
import uuid
from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from entrypoints.cli import one_line_errors
from entrypoints.client import AppraisalClient, Refused
from entrypoints.signing import Signer
from service.keyfiles import read_private_key

ABSTAIN = ("弃权", "abstain", "-")
ABSTAIN_LABEL = "弃权"


class EntryError(ValueError):
    """The typed entry cannot be read against the ballot definition."""


def read_rows(definition: dict[str, Any], typed: tuple[str, ...]) -> list[dict[str, Any]]:
    """The ballot rows for `typed`: one value per appraisee, a choice's code or label."""
    if definition["group"]["form"] != "grade_choice":
        raise EntryError(f"group {definition['group']['code']} is not a choice ballot")
    appraisees = definition["appraisees"]
    if len(typed) != len(appraisees):
        raise EntryError(
            f"expected {len(appraisees)} choices (one per appraisee), not {len(typed)}"
        )
    codes = {c["code"]: c["code"] for c in definition["choices"]}
    codes |= {c["label"]: c["code"] for c in definition["choices"]}
    rows = []
    for appraisee, value in zip(appraisees, typed, strict=True):
        value = value.strip()
        if value in ABSTAIN:
            rows.append({"appraisee_id": appraisee["appraisee_id"], "abstain": True})
        elif value in codes:
            rows.append({"appraisee_id": appraisee["appraisee_id"], "choice": codes[value]})
        else:
            known = "、".join(c["label"] for c in definition["choices"])
            raise EntryError(f"{appraisee['name']}: {value!r} is none of {known} or 弃权")
    return rows


def warnings(definition: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """Why the server would count this ballot invalid, as the ballot page warns: a choice
    over its share of the marked rows (`domain.ballots.choice_caps`)."""
    marked = [row["choice"] for row in rows if "choice" in row]
    labels = {c["code"]: c["label"] for c in definition["choices"]}
    found = []
    for rule in definition["validity"]["max_choice_share"]:
        cap = math.floor(Fraction(rule["share"]) * len(marked))
        held = marked.count(rule["choice"])
        if held > cap:
            found.append(
                f"“{labels[rule['choice']]}”{held} 个，超过所评人数的 {Fraction(rule['share'])}"
                f"（本票最多 {cap} 个）：此票将计为无效票"
            )
    return found


def read_back(definition: dict[str, Any], serial: str, rows: list[dict[str, Any]]) -> str:
    labels = {c["code"]: c["label"] for c in definition["choices"]}
    lines = [
        f"{definition['campaign_title']} · {definition['group']['label']} · 纸质票 {serial}",
    ]
    for n, (appraisee, row) in enumerate(zip(definition["appraisees"], rows, strict=True), 1):
        choice = ABSTAIN_LABEL if row.get("abstain") else labels[row["choice"]]
        lines.append(
            f"{n:>3}  {appraisee['name']}  {appraisee['position']}  {appraisee['unit']}  {choice}"
        )
    return "\n".join(lines)


def problem_line(refused: Refused) -> str:
    problem = refused.problem
    title = problem.get("title") or f"HTTP {refused.status}"
    detail = problem.get("detail")
    return f"{title}：{detail}" if detail else str(title)


@click.group()
def paper() -> None:
    """Paper ballots typed in by a teller."""


@paper.command("enter")
@click.option("--server", required=True, help="The app's address, e.g. http://127.0.0.1:8000.")
@click.option("--key", "key_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--meeting", "meeting_id", required=True, type=click.UUID)
@click.option("--group", required=True, help="The group the paper slip belongs to.")
@click.option("--serial", required=True, help="The serial printed on the paper slip.")
@click.option("--yes", is_flag=True, help="Record without asking (scripts).")
@click.argument("choices", nargs=-1, required=True)
@one_line_errors
def enter(
    server: str,
    key_file: Path,
    meeting_id: uuid.UUID,
    group: str,
    serial: str,
    yes: bool,
    choices: tuple[str, ...],
) -> None:
    """Enter one paper ballot: CHOICES are one per appraisee, in the ballot's order, each a
    choice's code or label (优秀/称职/…) or 弃权; read back, confirm, sign and send."""
    client = AppraisalClient(server, Signer(key=read_private_key(key_file)), language="zh")
    try:
        definition = client.get_public(f"/api/v1/meetings/{meeting_id}/ballot", group=group)
        rows = read_rows(definition, choices)
        click.echo(read_back(definition, serial, rows))
        for warning in warnings(definition, rows):
            click.echo(f"警告：{warning}")
        if not yes and not click.confirm("确认录入？", default=False):
            raise click.ClickException("未录入 (not recorded)")
        answer = client.send(
            "ballot.cast",
            campaign_id=definition["campaign_id"],
            meeting_id=str(meeting_id),
            ballot_id=str(uuid.uuid4()),
            group=group,
            rows=rows,
            paper_serial=serial,
        )
    except Refused as exc:
        raise click.ClickException(problem_line(exc)) from None
    validity = "有效" if answer["valid"] else f"无效（{answer['reason']}）"
    click.echo(f"已录入：{answer['ballot_id']}，{validity}")
