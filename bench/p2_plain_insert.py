"""P2, the peer without audit: a minimal Flask endpoint that INSERTs the posted ballot
JSON into one table with psycopg (a pool per worker) and checks nothing — what a team
that skips signatures, ledger and event sourcing would write.

Served by gunicorn with `appraisal serve`'s options and worker count
(`bench.load.wsgi_command`), so the HTTP stack costs both sides alike and the
difference is the work behind the endpoint.
"""

import os
from typing import Any

import psycopg
from flask import Flask, request
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from bench import load

DATABASE_ENV = "BENCH_P2_DATABASE_URL"
THREADS_ENV = "BENCH_P2_POOL_SIZE"
APP = "bench.p2_plain_insert:create_app()"
CREATE_TABLE = "CREATE TABLE IF NOT EXISTS ballots (id BIGSERIAL PRIMARY KEY, body JSONB NOT NULL)"


def create_table(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(CREATE_TABLE)


def stored_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT COUNT(*) FROM ballots").fetchone()
    return int(row[0]) if row else 0


def environment(database_url: str, threads: int) -> dict[str, str]:
    """What the served app reads from its environment."""
    return {DATABASE_ENV: database_url, THREADS_ENV: str(threads)}


def create_app() -> Flask:
    """The app; its pool opens lazily in the worker that serves (no pool crosses a fork)."""
    app = Flask("p2")

    def open_pool() -> ConnectionPool:
        size = int(os.environ[THREADS_ENV])
        return ConnectionPool(os.environ[DATABASE_ENV], min_size=size, max_size=size)

    connections = load.in_each_worker(open_pool)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        connections().wait()
        return {"status": "ok"}

    @app.post("/ballots")
    def insert() -> tuple[dict[str, Any], int]:
        with connections().connection() as conn:
            row = conn.execute(
                "INSERT INTO ballots (body) VALUES (%s) RETURNING id", [Jsonb(request.get_json())]
            ).fetchone()
        return {"id": row[0] if row else None}, 201

    return app
