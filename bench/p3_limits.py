"""P3: the limits the machine sets, measured in the same run as the workloads they bound.

Why: a workload's absolute rate says little on its own; "W3 verifies at 40 % of what
`cryptography` can do on these cores" says where the time goes. Three limits:

- Ed25519 verifications per second with `cryptography`, on one core (in this process)
  and on all cores (one worker process per core), over ~300-byte messages signed by
  256 different keys, the public keys loaded once: nothing but the signature check.
- PostgreSQL COPY rows per second into a table shaped like the event store's
  (uuid, version, topic, ~600-byte state: the city's mean stored state), one
  transaction per round: the bulk-write ceiling for batched commands.
- Single-row commits per second: one INSERT of such a row per transaction
  (autocommit), the ceiling for one command per transaction with the server's
  durability settings (each commit waits for its WAL flush).

Both tables are ordinary logged tables in a fresh database, not temporary ones: the
event store's writes are WAL-logged and flushed, and a temporary table's are not, so
only a logged table bounds them. Rounds of the four measurements are interleaved so
background load hits them alike; medians are reported. Other workloads call `limits()`,
which measures once per process and caches the result.
"""

import functools
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bench import progress, stores
from bench.results import WorkloadResult

ROUNDS = 5
KEYS = 256
MESSAGE_BYTES = 300
VERIFICATIONS_PER_TASK = 500
TASKS_PER_PROCESS = 8
ONE_CORE_VERIFICATIONS = 2_000
STATE_BYTES = 600
TOPIC = "domain.balloting:CastBallot.Cast"
COPY_ROWS = 20_000
COMMITS = 300
EVENTS_TABLE = (
    "CREATE TABLE events (originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
    "topic text, state bytea, notification_id bigserial, "
    "PRIMARY KEY (originator_id, originator_version))"
)


@dataclass(frozen=True)
class Limits:
    """Medians over the rounds, per second; `samples` keeps every round."""

    processes: int
    ed25519_all_cores: float
    ed25519_one_core: float
    copy_rows: float
    commits: float
    samples: dict[str, list[float]]

    def to_json(self) -> dict[str, Any]:
        return {
            "processes": self.processes,
            "ed25519_verify_per_s_all_cores": round(self.ed25519_all_cores),
            "ed25519_verify_per_s_one_core": round(self.ed25519_one_core),
            "postgresql_copy_rows_per_s": round(self.copy_rows),
            "postgresql_single_row_commits_per_s": round(self.commits),
            "rounds_per_s": {k: [round(v) for v in vs] for k, vs in self.samples.items()},
        }


@functools.cache
def limits() -> Limits:
    """Measured once per process: every workload of a run divides by the same numbers."""
    processes = len(os.sched_getaffinity(0))
    samples: dict[str, list[float]] = {
        "ed25519_all_cores": [],
        "ed25519_one_core": [],
        "copy_rows": [],
        "commits": [],
    }
    signed = _signed()
    with (
        get_context("spawn").Pool(processes, initializer=_init_worker) as pool,
        stores.postgres_database() as database_url,
        psycopg.connect(database_url, autocommit=True) as conn,
    ):
        conn.execute(EVENTS_TABLE)
        pool.map(_verify_task, [1] * processes)  # workers started and warm
        measures: dict[str, Callable[[], float]] = {
            "ed25519_all_cores": lambda: _verify_all_cores(pool, processes),
            "ed25519_one_core": lambda: _verify_rate(signed, ONE_CORE_VERIFICATIONS),
            "copy_rows": lambda: _copy_rate(conn),
            "commits": lambda: _commit_rate(conn),
        }
        with progress.task("P3: limits (Ed25519, COPY, commits)", ROUNDS) as advance:
            for _ in range(ROUNDS):
                for name, measure in measures.items():
                    samples[name].append(measure())
                advance(1)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return Limits(processes=processes, samples=samples, **medians)


def run(size: str, workdir: Path) -> WorkloadResult:
    measured = limits()
    return WorkloadResult(
        name="P3",
        description=(
            f"Limits: Ed25519 verifications {measured.ed25519_all_cores:,.0f}/s on "
            f"{measured.processes} cores ({measured.ed25519_one_core:,.0f}/s on one); "
            f"PostgreSQL COPY {measured.copy_rows:,.0f} event-shaped rows/s; "
            f"{measured.commits:,.0f} single-row commits/s; medians of {ROUNDS} interleaved "
            "rounds"
        ),
        measurements=measured.to_json(),
        peers={},
        ratios={
            "ed25519_all_cores_vs_one_core": round(
                measured.ed25519_all_cores / measured.ed25519_one_core, 2
            ),
            "copy_rows_vs_commits": round(measured.copy_rows / measured.commits, 1),
        },
        targets=[],
        limits=(
            "No target: these are the denominators of W2's and W3's ratios. Ed25519 excludes "
            "decoding keys and signatures; COPY and commits use a logged table in a fresh "
            "database on the local server, with its fsync and synchronous_commit settings."
        ),
    )


# --- Ed25519 ------------------------------------------------------------------------------

_worker_signed: list[tuple[Ed25519PublicKey, bytes, bytes]] = []


def _signed() -> list[tuple[Ed25519PublicKey, bytes, bytes]]:
    """KEYS different keys, each signing one random MESSAGE_BYTES message."""
    signed = []
    for _ in range(KEYS):
        key = Ed25519PrivateKey.generate()
        message = os.urandom(MESSAGE_BYTES)
        signed.append((key.public_key(), message, key.sign(message)))
    return signed


def _init_worker() -> None:
    _worker_signed.extend(_signed())


def _verify_rate(signed: list[tuple[Ed25519PublicKey, bytes, bytes]], count: int) -> float:
    start = time.perf_counter()
    _verify(signed, count)
    return count / (time.perf_counter() - start)


def _verify(signed: list[tuple[Ed25519PublicKey, bytes, bytes]], count: int) -> None:
    for n in range(count):
        public_key, message, signature = signed[n % len(signed)]
        public_key.verify(signature, message)  # raises on a bad signature


def _verify_task(count: int) -> int:
    _verify(_worker_signed, count)
    return count


def _verify_all_cores(pool: Pool, processes: int) -> float:
    """Many small tasks, so a process that starts late or is descheduled does not leave
    the others idle at the end; wall time over everything."""
    tasks = [VERIFICATIONS_PER_TASK] * (TASKS_PER_PROCESS * processes)
    start = time.perf_counter()
    done = sum(pool.map(_verify_task, tasks, chunksize=1))
    return done / (time.perf_counter() - start)


# --- PostgreSQL ---------------------------------------------------------------------------


def _row(version: int) -> tuple[uuid.UUID, int, str, bytes]:
    return uuid.uuid4(), version, TOPIC, os.urandom(STATE_BYTES)


def _copy_rate(conn: psycopg.Connection[Any]) -> float:
    """Binary COPY in one transaction, rows built beforehand: the server's and driver's
    share only."""
    rows = [_row(1) for _ in range(COPY_ROWS)]
    start = time.perf_counter()
    with (
        conn.transaction(),
        conn.cursor() as cursor,
        cursor.copy(
            "COPY events (originator_id, originator_version, topic, state) "
            "FROM STDIN (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["uuid", "int8", "text", "bytea"])
        for row in rows:
            copy.write_row(row)
    return COPY_ROWS / (time.perf_counter() - start)


def _commit_rate(conn: psycopg.Connection[Any]) -> float:
    rows = [_row(1) for _ in range(COMMITS)]
    insert = (
        "INSERT INTO events (originator_id, originator_version, topic, state) "
        "VALUES (%s, %s, %s, %s)"
    )
    start = time.perf_counter()
    for row in rows:
        conn.execute(insert, row)
    return COMMITS / (time.perf_counter() - start)
