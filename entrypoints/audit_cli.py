"""`appraisal audit …`: export an offline audit bundle, verify one, replay a campaign live."""

from collections.abc import Callable
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@click.group()
def audit() -> None:
    """Export and verify offline audit bundles; re-derive a campaign's grades."""


# Imported after `audit` exists: entrypoints.cli registers this group at its end, so either
# module may be imported first.
from domain.anchors import Anchors, TrustedCheckpoint, witness_policy  # noqa: E402
from domain.audit import AuditReport  # noqa: E402
from domain.audit_bundle import parse_log_key  # noqa: E402
from entrypoints.cli import emit, err, one_line_errors, opened_system  # noqa: E402
from service.audit import Replayed, export_bundle, replay_campaign, verify_bundle  # noqa: E402


def _progress_bar() -> Progress:
    """A bar on stderr for people watching; nothing at all when stderr is not a terminal."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


@audit.command("export")
@click.option(
    "--campaign",
    "campaign_id",
    default=None,
    help="Re-derive and publish-check only this campaign (every entry is still exported).",
)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Bundle file to write."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@one_line_errors
def export(campaign_id: str | None, output: str, as_json: bool) -> None:
    """Write a JSON Lines audit bundle: every ledger entry with its inclusion proof, a signed
    checkpoint of exactly those entries, and the published results."""
    with opened_system() as system, _progress_bar() as progress:
        task = progress.add_task("exporting ledger", total=None)
        exported = export_bundle(
            system,
            Path(output),
            campaign_id,
            lambda done, total: progress.update(task, completed=done, total=total),
        )
    data = exported.to_json()
    emit(
        data,
        as_json,
        lambda: click.echo(
            f"exported {exported.tree_size} entries and {len(exported.campaigns)} campaign "
            f"result(s) to {exported.path} (checkpoint root {data['root']})"
        ),
    )


@audit.command("verify")
@click.argument("bundle", type=click.Path(dir_okay=False))
@click.option(
    "--log-key",
    required=True,
    help="The log's public key (base64url), as `appraisal init --json` prints log_public_key.",
)
@click.option(
    "--campaign",
    "campaign_id",
    default=None,
    help="Re-derive only this campaign (default: the bundle's scope, else every campaign).",
)
@click.option(
    "--trusted-checkpoint",
    "trusted",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A signed checkpoint note of this log you obtained earlier; the log must extend it. "
    "Repeatable.",
)
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    help="A witness's vkey (as `appraisal witness new-key` printed it). Repeatable.",
)
@click.option(
    "--witness-quorum",
    type=int,
    default=None,
    help="How many of the witnesses must have cosigned the head or a trusted checkpoint "
    "it extends (default: all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@one_line_errors
def verify(
    bundle: str,
    log_key: str,
    campaign_id: str | None,
    trusted: tuple[str, ...],
    witnesses: tuple[str, ...],
    witness_quorum: int | None,
    as_json: bool,
) -> None:
    """Check a bundle with no database: leaves and root against the signed checkpoint,
    every signature against the registry of its time, every transition, every grade;
    and against any trust anchors given (earlier checkpoints, witnesses' cosignatures)."""
    key = parse_log_key(log_key)
    anchors = _anchors(trusted, witnesses, witness_quorum)
    with _progress_bar() as progress:
        task = progress.add_task("verifying bundle", total=None)
        report = verify_bundle(
            Path(bundle),
            key,
            campaign_id,
            lambda done, total: progress.update(task, completed=done, total=total),
            anchors,
        )
    emit(report.to_json(), as_json, lambda: _print_report(report))
    if not report.ok:
        raise SystemExit(1)


def _anchors(
    trusted: tuple[str, ...], witnesses: tuple[str, ...], quorum: int | None
) -> Callable[[], Anchors]:
    """The trust anchors as the options give them, read and parsed once."""
    notes = []
    for name in trusted:
        try:
            notes.append(TrustedCheckpoint(name, Path(name).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read trusted checkpoint {name}: {exc}") from None
    policy = witness_policy(witnesses, quorum)
    return lambda: Anchors(notes, policy)


def _print_report(report: AuditReport) -> None:
    if report.finding is not None:
        click.echo(f"audit: FAILED at {report.finding}")
        return
    root = report.to_json()["root"]
    click.echo(
        f"audit: OK — {report.entries} entries, checkpoint root {root} ({report.origin}); "
        f"{report.envelopes} signed commands; {len(report.campaigns)} campaign(s) checked; "
        f"{report.ballots_counted} ballots counted"
    )
    for c in report.campaigns:
        click.echo(
            f"  campaign {c.campaign_id}: {c.status}, {c.proposals_rederived} proposal(s) "
            f"re-derived, {c.ballots_counted} ballots counted, published results match"
        )
    if report.anchors is not None:
        for anchor in report.anchors["trusted_checkpoints"]:
            click.echo(f"  extends trusted checkpoint {anchor['file']} ({anchor['tree_size']})")
        for label, cosigners in report.anchors["cosignatures"].items():
            click.echo(f"  {label}: cosigned by {', '.join(cosigners)}")


@audit.command("replay")
@click.argument("campaign_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@one_line_errors
def replay(campaign_id: str, as_json: bool) -> None:
    """Re-derive CAMPAIGN's grades from the live store and diff them against its stored
    proposal (score, rank, grade per appraisee)."""
    with opened_system() as system:
        replayed = replay_campaign(system, campaign_id)
    emit(replayed.to_json(), as_json, lambda: _print_replay(replayed))
    if not replayed.identical:
        raise SystemExit(1)


def _print_replay(replayed: Replayed) -> None:
    verdict = "identical" if replayed.identical else "DIFFERENT"
    click.echo(f"campaign {replayed.campaign_id} ({replayed.status}): re-derived results {verdict}")
    if replayed.stored_hash != replayed.computed_hash:
        click.echo(
            f"  proposal hash: stored {replayed.stored_hash}, computed {replayed.computed_hash}"
        )
    computed = {r["appraisee_id"]: r for r in replayed.computed}
    for stored in replayed.stored:
        mine = computed.get(stored["appraisee_id"], {})
        same = all(d.appraisee_id != stored["appraisee_id"] for d in replayed.differences)
        click.echo(
            f"  {'=' if same else '≠'} {stored['appraisee_id']}  "
            f"score {stored['score']} / {mine.get('score')}  "
            f"rank {stored['rank']} / {mine.get('rank')}  "
            f"grade {stored['grade']} / {mine.get('grade')}"
        )
    for difference in replayed.differences:
        click.echo(f"  {difference.describe('stored', 'computed')}")
