"""`appraisal roster …`: a roster template to fill in, and a filled one turned into
signed commands (printed, submitted to the configured store, or posted to a server).

The rules a roster is checked against (its 类别 and its named evaluator groups) are
the campaign's, read from the configured store, or a rules file (`--rules`) when the
office works against a remote server.
"""

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from uuid import UUID

import click

from domain.campaign import Campaign
from domain.rules import Rules, parse_rules
from entrypoints import roster as rosters
from entrypoints.cli import emit, err, one_line_errors, opened_services, read_json
from entrypoints.excel import save_atomically
from entrypoints.signing import Signer
from service.keyfiles import read_private_key

TIMEOUT_SECONDS = 30


@click.group()
def roster() -> None:
    """Rosters from Excel: appraisees (测评对象) and named groups' evaluators."""


campaign_option = click.option(
    "--campaign", "campaign_id", help="The campaign whose rules apply (read from the store)."
)
rules_option = click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False),
    help="A rules document to check against instead of the stored campaign's.",
)


def _rules(campaign_id: str | None, rules_file: str | None) -> Rules | None:
    if rules_file is not None:
        return parse_rules(read_json(rules_file))
    if campaign_id is None:
        return None
    with opened_services() as services:
        return services.read.app.get(_campaign_uuid(campaign_id), Campaign).rules


def _campaign_uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a campaign id (UUID)") from None


@roster.command("template")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
@campaign_option
@rules_option
@one_line_errors
def template(output: Path, campaign_id: str | None, rules_file: str | None) -> None:
    """Write an empty roster workbook: a 测评对象 sheet (姓名, 职务, 单位/社区, 类别,
    optional ids) and, given the rules, one sheet per named evaluator group."""
    rules = _rules(campaign_id, rules_file)
    save_atomically(rosters.template(rules), output)
    sheets = [rosters.APPRAISEES, *(rosters.evaluator_sheet(g.label) for g in _named(rules))]
    err.print(f"wrote {output}: {'，'.join(sheets)}")


def _named(rules: Rules | None) -> list[Any]:
    return [] if rules is None else rosters.named_groups(rules)


@roster.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--campaign", "campaign_id", required=True, help="The campaign to add them to.")
@rules_option
@click.option("--meeting", "meeting_id", help="The meeting the evaluator sheets' people vote in.")
@click.option("--key", "key_file", required=True, type=click.Path(dir_okay=False))
@click.option("--submit", is_flag=True, help="Submit the commands instead of printing them.")
@click.option("--server", help="Post to this server's API instead of the configured store.")
@one_line_errors
def import_(
    file: Path,
    campaign_id: str,
    rules_file: str | None,
    meeting_id: str | None,
    key_file: str,
    submit: bool,
    server: str | None,
) -> None:
    """Check FILE and sign its commands (campaign.add_appraisees, and balloting.open for
    the evaluator sheets); print them one per line, or submit them with --submit."""
    campaign = str(_campaign_uuid(campaign_id))
    rules = _rules(campaign, rules_file)
    assert rules is not None, "a campaign id always gives rules"
    commands = rosters.read_roster(file, rules).commands(campaign, meeting_id)
    signer = Signer(key=read_private_key(Path(key_file)))
    envelopes = [signer.envelope(c.pop("type"), **c) for c in commands]
    if not submit:
        for envelope in envelopes:
            click.echo(json.dumps(envelope, ensure_ascii=False))
        return
    for envelope in envelopes:
        accepted = _post(server, envelope) if server else _handle(envelope)
        emit(accepted, True)


def _handle(envelope: dict[str, Any]) -> dict[str, Any]:
    with opened_services() as services:
        accepted = services.system.bus.handle(envelope)
        services.system.ledger.checkpoint_now()
    return accepted.to_json()


def _post(server: str, envelope: dict[str, Any]) -> Any:
    url = f"{server.rstrip('/')}/api/v1/commands"
    request = urllib.request.Request(
        url,
        data=json.dumps(envelope, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        problem = json.loads(exc.read() or b"{}")
        detail = problem.get("detail") or problem.get("title") or exc.reason
        raise ValueError(f"{envelope['command']['type']}: {exc.code} {detail}") from None
    except OSError as exc:
        raise ValueError(f"cannot POST {url}: {exc}") from None
