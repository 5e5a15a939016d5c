"""The `appraisal` command line: set-up, keys, signing, submitting and the ledger."""

import base64
import importlib
import json
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from rich.progress import Progress

from bootstrap import Services
from domain import envelope as envelopes
from domain import wire
from domain.errors import DomainError, WireLimit
from domain.keys import encode_public_key, key_id, raw_public_key
from service.keyfiles import KeyFileError, read_private_key, write_private_key
from service.ledger_verify import verify_ledger
from service.settings import Settings, SettingsError
from service.system import System, initialise

err = Console(stderr=True)
EXPECTED_ERRORS = (DomainError, SettingsError, KeyFileError, OSError, ValueError)


def one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn any expected failure into a one-line message and exit status 1."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except EXPECTED_ERRORS as exc:
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            click.echo(f"error: {message}", err=True)
            sys.exit(1)

    return run


def emit(data: Any, as_json: bool, human: Callable[[], None] | None = None) -> None:
    if as_json or human is None:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        human()


@contextmanager
def opened_system() -> Iterator[System]:
    with opened_services() as services:
        yield services.system


@contextmanager
def opened_services() -> Iterator[Services]:
    """The write and read sides of the configured store (the composition root)."""
    services = Services.open(Settings.from_env())
    try:
        yield services
    finally:
        services.close()


def read_json(path: str) -> Any:
    """A JSON file (or stdin) under the same wire limits as a posted body."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return wire.loads(data)
    except WireLimit as exc:
        raise ValueError(f"{path}: {exc.message}") from None


def public_key_argument(value: str) -> str:
    """Accept a base64url public key, or a private key file whose public half is wanted."""
    if Path(value).is_file():
        return encode_public_key(raw_public_key(read_private_key(Path(value))))
    return value


class LazyGroup(click.Group):
    """A group whose bigger subcommands are imported only when run or listed.

    Why: `appraisal audit verify` runs on an auditor's laptop and should not spend its
    start-up importing the web server, the spreadsheet writer or the projections.
    """

    def __init__(self, *args: Any, lazy: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = dict(lazy)  # command name -> "module:attribute"

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self._lazy:
            module, attribute = self._lazy[name].split(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(
    cls=LazyGroup,
    lazy={
        "demo": "entrypoints.demo_cli:demo",
        "serve": "entrypoints.serve:serve",
        "audit": "entrypoints.audit_cli:audit",
        "projections": "entrypoints.projections_cli:projections",
        "export": "entrypoints.export_cli:export",
        "witness": "entrypoints.witness_cli:witness",
        "receipt": "entrypoints.receipt_cli:receipt",
        "rules": "entrypoints.rules_cli:rules",
        "campaigns": "entrypoints.reads_cli:campaigns",
        "results": "entrypoints.reads_cli:results",
        "consequences": "entrypoints.reads_cli:consequences",
        "credentials": "entrypoints.credentials_cli:credentials",
        "roster": "entrypoints.roster_cli:roster",
        "paper": "entrypoints.paper_cli:paper",
    },
)
@click.version_option(package_name="appraisal-ledger")
def main() -> None:
    """Audit-grade appraisal ledger: signed commands, a Merkle ledger, offline audit."""


@main.command()
@click.option(
    "--admin-key",
    required=True,
    help="The admin's public key (base64url), or the admin's private key file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@one_line_errors
def init(admin_key: str, as_json: bool) -> None:
    """Create the store, the log key and the admin actor (root of trust)."""
    result = initialise(Settings.from_env(), public_key_argument(admin_key))
    emit(
        result,
        as_json,
        lambda: err.print(
            f"initialised {result['store']} store; admin key id {result['admin_key_id']}; "
            f"log public key {result['log_public_key']}"
        ),
    )


@main.group()
def keys() -> None:
    """Create and inspect Ed25519 key files."""


@keys.command("new")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the private key (created with mode 0600).",
)
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def keys_new(output: str, as_json: bool) -> None:
    """Write a new private key file and print its public key and key id."""
    key = Ed25519PrivateKey.generate()
    write_private_key(Path(output), key)
    _print_key(key, as_json)


@keys.command("show")
@click.argument("key_file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def keys_show(key_file: str, as_json: bool) -> None:
    """Print the public key and key id of a private key file."""
    _print_key(read_private_key(Path(key_file)), as_json)


def _print_key(key: Ed25519PrivateKey, as_json: bool) -> None:
    public = raw_public_key(key)
    data = {"public_key": encode_public_key(public), "key_id": key_id(public)}
    emit(data, as_json, lambda: click.echo(f"{data['public_key']} {data['key_id']}"))


@main.command()
@click.argument("command_file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--key", "key_file", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--fill/--no-fill",
    default=True,
    help="Add a fresh `id` and the current `issued_at` when missing.",
)
@one_line_errors
def sign(command_file: str, key_file: str, fill: bool) -> None:
    """Sign COMMAND.json and print the envelope."""
    command = read_json(command_file)
    if not isinstance(command, dict):
        raise ValueError("the command must be a JSON object")
    if fill:
        command.setdefault("id", str(uuid.uuid4()))
        command.setdefault("issued_at", envelopes.format_timestamp(datetime.now(UTC)))
    sealed = envelopes.seal(command, read_private_key(Path(key_file)))
    click.echo(json.dumps(sealed, ensure_ascii=False))


@main.command()
@click.argument("envelope_file", type=click.Path(dir_okay=False, allow_dash=True))
@one_line_errors
def submit(envelope_file: str) -> None:
    """Submit a signed envelope straight to the configured store and print the result."""
    with opened_system() as system:
        accepted = system.bus.handle(read_json(envelope_file))
        system.ledger.checkpoint_now()
    click.echo(json.dumps(accepted.to_json(), ensure_ascii=False))


@main.group()
def ledger() -> None:
    """Inspect and verify the Merkle ledger."""


@ledger.command("verify")
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def ledger_verify(as_json: bool) -> None:
    """Recompute every leaf, node and checkpoint from the stored events."""
    with opened_system() as system, Progress(console=err, transient=True) as progress:
        task = progress.add_task("verifying ledger", total=None)
        report = verify_ledger(
            system.app.ledger,
            system.ledger.log_public_key,
            system.settings.log_origin,
            lambda done, total: progress.update(task, completed=done, total=total),
        )
    first = report.first
    data = {
        "ok": report.ok,
        "tree_size": report.size,
        "checkpoints": report.checkpoints,
        "root": base64.b64encode(report.root).decode(),
        "first_bad_position": None if first is None else first.position,
        "problem": None if first is None else first.problem,
    }
    emit(
        data,
        as_json,
        lambda: click.echo(
            f"ledger: verified {report.size} entries, {report.checkpoints} checkpoints"
            if report.ok
            else f"ledger: FAILED at {first}"
        ),
    )
    if not report.ok:
        sys.exit(1)


@ledger.command("checkpoint")
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def ledger_checkpoint(as_json: bool) -> None:
    """Sign a checkpoint of the current tree head, have the configured witnesses cosign it,
    and print the note with every cosignature obtained."""
    with opened_system() as system:
        stored = system.ledger.checkpoint_now()
        if system.witnessing is not None:
            system.witnessing.cosign(stored)
        note = system.ledger.cosigned_note(stored)
    emit({"tree_size": stored.size, "note": note}, as_json, lambda: click.echo(note, nl=False))
