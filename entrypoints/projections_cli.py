"""`appraisal projections …`: run, rebuild and inspect the read-side projection.

Process model: one projection keeps every view table, so one `run` process per
store is the production setup (e.g. a systemd unit beside gunicorn); the server
and the demo can instead run it in-process (`projections.ProjectionThread`). A
second runner is harmless — it queues on the tracking-row lock — but useless.
On PostgreSQL `run` wakes on the store's NOTIFY; on SQLite it polls every
`--poll-interval` seconds. SIGTERM or Ctrl-C stop it after the current batch.

This module does not import `entrypoints.cli`, which imports it.
"""

import json
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bootstrap import Services
from domain.errors import DomainError
from projections import Batch, catch_up, rebuild, run_forever
from projections.queries import projection_lag
from projections.worker import DEFAULT_BATCH_SIZE, DEFAULT_POLL_INTERVAL
from service.settings import Settings, SettingsError

err = Console(stderr=True)


def _clean_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """An expected failure becomes a one-line message and exit status 1."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (DomainError, SettingsError, OSError) as exc:
            raise click.ClickException(getattr(exc, "message", None) or str(exc)) from exc

    return run


@contextmanager
def _services() -> Iterator[Services]:
    services = Services.open(Settings.from_env())
    try:
        yield services
    finally:
        services.close()


batch_size_option = click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Events applied per transaction.",
)


@click.group()
def projections() -> None:
    """Keep, rebuild and inspect the read models (exactly-once projection)."""


@projections.command("run")
@click.option("--once", is_flag=True, help="Catch up to the current head, then exit.")
@click.option(
    "--poll-interval",
    type=click.FloatRange(0.01, 60),
    default=DEFAULT_POLL_INTERVAL,
    show_default=True,
    help="Seconds between polls (SQLite), or the longest wait for a NOTIFY (PostgreSQL).",
)
@batch_size_option
@_clean_errors
def run(once: bool, poll_interval: float, batch_size: int) -> None:
    """Apply new events to the views as they are stored, until stopped."""
    with _services() as services:
        if once:
            applied = catch_up(services.read, batch_size=batch_size)
            err.print(f"projections: applied {applied} event(s); caught up")
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        err.print(f"projections: running (store: {_store(services)})")
        run_forever(services.read, stop, poll_interval=poll_interval, batch_size=batch_size)
        err.print("projections: stopped")


@projections.command("rebuild")
@batch_size_option
@_clean_errors
def rebuild_command(batch_size: int) -> None:
    """Drop every view table and replay the whole store from zero."""
    with _services() as services:
        total = services.system.ledger.size()
        columns = (TextColumn("rebuilding views"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=err) as progress:
            task = progress.add_task("rebuild", total=total)

            def advance(batch: Batch) -> None:
                progress.update(task, completed=batch.ledger_index + 1)

            applied = rebuild(services.read, batch_size=batch_size, on_batch=advance)
    err.print(f"projections: rebuilt from {applied} event(s)")


@projections.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_clean_errors
def status(as_json: bool) -> None:
    """Where each projection stands against the ledger head."""
    with _services() as services:
        lag = projection_lag(services.read)
    if as_json:
        click.echo(json.dumps({"projections": [lag]}, indent=2))
        return
    click.echo(
        f"{lag['projection']}: ledger index {lag['ledger_index']} of "
        f"{lag['ledger_size']} entries (notification {lag['notification_id']} of "
        f"{lag['head_notification_id']}), {lag['behind']} behind"
    )


def _store(services: Services) -> str:
    return "postgresql" if services.system.settings.is_postgres else "sqlite"
