"""`appraisal witness …`: make a witness key, run a C2SP tlog-witness for logs below."""

from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

from api.witness_app import create_witness_app
from domain.checkpoint import CheckpointError
from domain.cosignature import cosigner_vkey, parse_signer_key, signer_key
from entrypoints.cli import one_line_errors
from entrypoints.serve import ApiServer, gunicorn_options
from service.keyfiles import KeyFileError, write_secret
from service.witness import Witness


@click.group()
def witness() -> None:
    """Cosign other logs' checkpoints (C2SP tlog-witness), e.g. a district's for its streets."""


@witness.command("new-key")
@click.option("--name", required=True, help="The witness's key name, e.g. district.example/w1.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the private key (created with mode 0600).",
)
@one_line_errors
def new_key(name: str, output: str) -> None:
    """Write a new witness key and print its verifier key (vkey) for the logs it cosigns."""
    key = Ed25519PrivateKey.generate()
    try:
        line = signer_key(name, key)
    except CheckpointError as exc:
        raise ValueError(str(exc)) from None
    write_secret(Path(output), (line + "\n").encode())
    click.echo(cosigner_vkey(name, key.public_key().public_bytes_raw()))


def read_witness_key(path: Path) -> tuple[str, Ed25519PrivateKey]:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read witness key {path}: {exc}") from None
    try:
        return parse_signer_key(text)
    except CheckpointError as exc:
        raise KeyFileError(f"{path}: {exc}") from None


@witness.command("serve")
@click.option("--key", "key_file", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--log",
    "logs",
    multiple=True,
    required=True,
    help="A log to cosign: its vkey, as `appraisal init --json` prints log_vkey. Repeatable.",
)
@click.option(
    "--state", required=True, type=click.Path(file_okay=False), help="Directory for its state."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=click.IntRange(0, 65535))
@one_line_errors
def serve(key_file: str, logs: tuple[str, ...], state: str, host: str, port: int) -> None:
    """Serve POST /add-checkpoint for the given logs until stopped."""
    name, key = read_witness_key(Path(key_file))
    try:
        running = Witness(name, key, logs, Path(state))
    except CheckpointError as exc:
        raise ValueError(f"--log: {exc}") from None
    click.echo(f"witness {running.vkey} on http://{host}:{port}", err=True)
    WitnessServer(create_witness_app(running), host, port).run()


class WitnessServer(ApiServer):
    """`appraisal serve`'s gunicorn set-up with one threaded worker and this app object.

    One worker is plenty for a witness; the state's lock is a file lock, so nothing here
    depends on there being only one process.
    """

    def __init__(self, app: Flask, host: str, port: int) -> None:
        options = gunicorn_options(host, port, workers=1, threads=4)
        for ledger_hook in ("on_starting", "post_worker_init", "child_exit"):
            options.pop(ledger_hook)
        self._app = app
        super().__init__({**options, "proc_name": "appraisal-witness", "graceful_timeout": 5})

    def load(self) -> Flask:
        return self._app
