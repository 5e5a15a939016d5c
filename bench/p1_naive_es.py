"""P1, the naive event-sourced peer: one `eventsourcing` aggregate per appraisee, and
every ballot's row appended to it as an event.

Per ballot the endpoint loads each rated appraisee's aggregate — replaying all its
events, since there are no snapshots and no cache (that is the design under test) —
appends the row and saves them together. Concurrent ballots for the same appraisees
collide on the aggregate version; the endpoint retries, as such a service would.
It stores on the same PostgreSQL with the library's own recorder (its table lock,
no ledger) and checks no signature: everything it skips only makes it faster, so the
comparison errs in its favour.
"""

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError
from flask import Flask, request

from bench import load
from service.settings import Settings

DATABASE_ENV = "BENCH_P1_DATABASE_URL"
POOL_ENV = "BENCH_P1_POOL_SIZE"
APP = "bench.p1_naive_es:create_app()"
MAX_ATTEMPTS = 100
PREFILL_BATCH = 100


class AppraiseeBallots(Aggregate):
    """Every row any ballot gave one appraisee, in order."""

    @event("Opened")
    def __init__(self, id: UUID) -> None:
        self.rows: list[dict[str, Any]] = []

    @event("RowAppended")
    def append(self, ballot_id: str, group: str, row: dict[str, Any]) -> None:
        self.rows.append({"ballot_id": ballot_id, "group": group, **row})


class NaiveBallots(Application[UUID]):
    name = "naive"


def environment(database_url: str, pool_size: int) -> dict[str, str]:
    """What the served app reads from its environment."""
    return {DATABASE_ENV: database_url, POOL_ENV: str(pool_size)}


def open_application(database_url: str, pool_size: int) -> NaiveBallots:
    """The library's PostgreSQL store with its default recorder: our URL and pool
    settings, minus the ledger recorder."""
    settings = Settings(Path("."), database_url, "-", pool_size=pool_size)
    env = settings.store_env()
    del env["APPLICATION_RECORDER_TOPIC"]
    return NaiveBallots(env=env)


def prefill(database_url: str, appraisee_ids: Iterable[str], depth: int) -> None:
    """Create each appraisee's aggregate holding `depth` rows before the timed window."""
    app = open_application(database_url, pool_size=1)
    try:
        for appraisee_id in appraisee_ids:
            aggregate = AppraiseeBallots(id=UUID(appraisee_id))
            for n in range(depth):
                aggregate.append(f"prefill-{n}", "resident_rep", {"choice": "competent"})
                if len(aggregate.pending_events) >= PREFILL_BATCH:
                    app.save(aggregate)
            app.save(aggregate)
    finally:
        app.close()


def depths(database_url: str, appraisee_ids: Iterable[str]) -> list[int]:
    """Rows each appraisee's aggregate holds now (its events less the creation)."""
    schema = Settings(Path("."), database_url, "-").store_env()["POSTGRES_SCHEMA"] or "public"
    ids = [UUID(a) for a in appraisee_ids]
    with psycopg.connect(database_url.split("?")[0]) as conn:
        rows = conn.execute(
            f'SELECT originator_id, MAX(originator_version) FROM "{schema}".naive_events '
            "WHERE originator_id = ANY(%s) GROUP BY originator_id",
            [ids],
        ).fetchall()
    found = {row[0]: row[1] for row in rows}
    return [found.get(i, 1) - 1 for i in ids]


def create_app() -> Flask:
    """The app; the store opens lazily in the worker that serves (no pool crosses a fork)."""
    app = Flask("p1")
    naive = load.in_each_worker(
        lambda: open_application(os.environ[DATABASE_ENV], int(os.environ[POOL_ENV]))
    )

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        naive()
        return {"status": "ok"}

    @app.post("/ballots")
    def cast() -> tuple[dict[str, Any], int]:
        command = request.get_json()["command"]
        for attempt in range(1, MAX_ATTEMPTS + 1):
            aggregates = []
            for row in command["rows"]:
                aggregate = naive().repository.get(UUID(row["appraisee_id"]))
                aggregate.append(command["ballot_id"], command["group"], row)
                aggregates.append(aggregate)
            try:
                naive().save(*aggregates)
            except IntegrityError:
                continue
            return {"ballot_id": command["ballot_id"], "attempts": attempt}, 201
        return {"error": "conflict", "attempts": MAX_ATTEMPTS}, 409

    return app
