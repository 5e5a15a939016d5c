"""`appraisal serve`: the HTTP API under gunicorn, on the configured store.

Workers: PostgreSQL takes writers from many processes, so two workers by default
(more with --workers). SQLite has one write lock per database file: extra
processes would only queue on it, each with its own checkpointer competing for
the same lock, so SQLite gets exactly one worker and concurrency from threads.

No preload: each worker imports the app itself after the fork, so no database
connection, pool or thread is ever shared across a fork. The app is named by
its import string, as gunicorn would take it on the command line; only the
HTTP options are read here first, so a bad one (the example session secret, a
short one) stops `serve` with one line before any worker starts.
"""

import os
from pathlib import Path
from typing import Any

import click
from gunicorn import glogging, util
from gunicorn.app.base import BaseApplication
from gunicorn.config import KNOWN_SETTINGS
from werkzeug.test import Client

from api.config import ApiOptions
from service.settings import Settings, SettingsError

APP = "api:create_app()"
POSTGRES_WORKERS = 2
# gunicorn's own lines in the same one-JSON-object-per-line form as the app's request log.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "WARNING", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
    },
    "handlers": {
        "json": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "formatters": {"json": {"()": "api.observability.JsonFormatter"}},
}


class AppRequestLog(glogging.Logger):
    """gunicorn's logger without its access line: the app writes one JSON line per
    request itself (`api.observability`), and gunicorn would otherwise build every
    request's log fields (headers, environ) for an access logger with no handler."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None


class ApiServer(BaseApplication):
    """gunicorn, configured in code rather than from its command line."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return util.import_app(APP)


def warm_up(worker: Any) -> None:
    """Ask the new worker's app for readiness: opens the store and starts the
    checkpointer before the first client request, so checkpoints keep covering
    new events (including those written by other hosts or the CLI)."""
    Client(worker.wsgi).get("/readyz")


def clear_metrics_dir(_server: Any) -> None:
    """Multiprocess metrics files of a previous run would be summed into this one."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()


def forget_worker_metrics(_server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    address = f"[{host}]" if ":" in host else host
    options: dict[str, Any] = {
        "bind": f"{address}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "preload_app": False,
        "proc_name": "appraisal",
        "accesslog": None,
        "errorlog": "-",
        "logconfig_dict": LOGGING,
        "logger_class": AppRequestLog,
        "timeout": 30,
        "graceful_timeout": 30,
        "on_starting": clear_metrics_dir,
        "post_worker_init": warm_up,
        "child_exit": forget_worker_metrics,
    }
    # Recent gunicorn opens a control socket at one fixed path in the home directory;
    # unused here, and two servers on one host would contend for it.
    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
        options["control_socket_disable"] = True
    return options


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help=f"Worker processes: default {POSTGRES_WORKERS} on PostgreSQL; SQLite allows only 1.",
)
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker (keep below APPRAISAL_DB_POOL_SIZE on PostgreSQL).",
)
def serve(host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve the HTTP API (OpenAPI at /api/v1/openapi.json) on the configured store."""
    try:
        settings = Settings.from_env()
        settings.store_env()
        ApiOptions.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    if settings.is_postgres:
        workers = workers or POSTGRES_WORKERS
    elif workers not in (None, 1):
        raise click.UsageError("SQLite has a single writer: serve it with exactly one worker")
    if not settings.log_key_path.exists():
        raise click.ClickException(
            f"no log key at {settings.log_key_path}: run `appraisal init --admin-key KEY` first"
        )
    ApiServer(gunicorn_options(host, port, workers or 1, threads)).run()
