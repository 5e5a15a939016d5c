"""W6: how long after a ballot is acknowledged do the read models show it, under W1's load?

Method, and why:
- W1's set-up and load (8 keep-alive clients POSTing credential-signed ballots to
  `appraisal serve`), with one `appraisal projections run` process following the
  store, as deployed. A run of its own rather than W1's rounds: W1 compares the write
  path with peers that have no read side, so the projection must not run there.
- Lag of a command = the moment the views include its ledger position minus the
  moment its client received the acknowledgement. A sampler in the harness polls
  `projections.queries.projection_lag` (what GET /api/v1/projection answers) every
  POLL_SECONDS; a command counts as visible at the end of the first poll after its
  acknowledgement that reports a `ledger_index` at or past its `position`. So every
  accepted command is measured (not a sample), and each lag is over-estimated by at
  most one poll.
- The projection first catches up with the set-up's events, so the window measures
  following, not a backlog.
"""

import bisect
import json
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import load, progress, stores
from bench.load import percentile
from bench.results import Target, WorkloadResult
from bench.w1_http_ballots import (
    CLIENTS,
    COMMANDS,
    THREADS,
    WORKERS,
    Campaign,
    Deployment,
    api_server,
    deployed,
    encoded,
)
from projections.queries import projection_lag

SIZES = {"reduced": (2_500, 15.0), "full": (8_000, 60.0)}  # ballots, seconds of load
POLL_SECONDS = 0.01
CATCH_UP_SECONDS = 60.0
THRESHOLD_MS = 500.0


@dataclass
class Sampler:
    """Polls the projection's position in a thread: (poll end time, ledger_index) pairs."""

    deployment: Deployment
    times: list[float] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def poll(self) -> int:
        index = projection_lag(self.deployment.read)["ledger_index"]
        return -1 if index is None else index

    def run(self) -> None:
        while not self._stop.is_set():
            index = self.poll()
            self.times.append(time.perf_counter())
            self.indexes.append(index)
            self._stop.wait(POLL_SECONDS)

    def wait_for(self, position: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.poll() < position:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the projection did not reach {position} in {timeout} s")
            time.sleep(POLL_SECONDS)

    def latest(self) -> int:
        return self.indexes[-1] if self.indexes else -1

    def stop(self) -> None:
        self._stop.set()

    def visible_at(self, received: float, position: int) -> float | None:
        """End of the first poll after `received` whose index covers `position`."""
        first = bisect.bisect_left(self.times, received)
        # Indexes only grow, so the first covering poll is found by bisection too.
        covering = bisect.bisect_left(self.indexes, position, lo=first)
        return self.times[covering] if covering < len(self.times) else None


def lags(sampler: Sampler, replies: Sequence[load.Reply]) -> list[float]:
    """Seconds from acknowledgement to visibility, for every accepted command."""
    found = []
    for reply in replies:
        visible = sampler.visible_at(reply.received, json.loads(reply.body)["position"])
        if visible is None:
            raise RuntimeError("an accepted command never became visible in the views")
        found.append(max(visible - reply.received, 0.0))
    return found


def run(size: str, workdir: Path) -> WorkloadResult:
    ballots, seconds = SIZES[size]
    with (
        stores.postgres_database() as database_url,
        deployed(workdir / "data", stores.postgres_schema(database_url, "w6")) as deployment,
    ):
        campaign = Campaign(deployment).set_up()
        bodies = encoded(campaign.credential_ballots(ballots))
        projections = load.appraisal_command("projections", "run")
        with (
            api_server(deployment, workdir / "server.log") as served,
            load.background(projections, workdir / "projections.log", deployment.env),
        ):
            sampler = Sampler(deployment)
            sampler.wait_for(deployment.system.ledger.size() - 1, CATCH_UP_SECONDS)
            thread = threading.Thread(target=sampler.run, daemon=True)
            thread.start()
            with progress.task("W6: W1 load with the projection following", 1) as advance:
                window = load.post_all(
                    served.port, COMMANDS, bodies, clients=CLIENTS, max_seconds=seconds
                )
                accepted = window.ok((201,))
                last = max(json.loads(reply.body)["position"] for reply in accepted)
                deadline = time.monotonic() + CATCH_UP_SECONDS
                while sampler.latest() < last and time.monotonic() < deadline:
                    time.sleep(POLL_SECONDS)
                sampler.stop()
                thread.join()
                advance(1)
    return _result(size, window, lags(sampler, accepted), len(sampler.times))


def _result(size: str, window: load.LoadRun, found: list[float], polls: int) -> WorkloadResult:
    p50, p99 = (percentile(found, q) * 1000 for q in (50, 99))
    return WorkloadResult(
        name="W6",
        description=(
            f"Projection lag (acknowledgement → visible in the views) of every accepted "
            f"ballot.cast under W1's load ({CLIENTS} clients, gunicorn {WORKERS}×{THREADS}, "
            f"PostgreSQL) with one `appraisal projections run` process; polled every "
            f"{POLL_SECONDS * 1000:.0f} ms"
        ),
        measurements={
            "lag_ms": {
                "p50": round(p50, 1),
                "p99": round(p99, 1),
                "max": round(max(found) * 1000, 1),
                "mean": round(statistics.mean(found) * 1000, 1),
            },
            "commands_measured": len(found),
            "polls": polls,
            "load": window.summary(),
        },
        peers={},
        ratios={},
        targets=[
            Target(
                name="p99 projection lag under W1 load, ms",
                measured=round(p99, 1),
                threshold=THRESHOLD_MS,
                higher_is_better=False,
                summary=(
                    f"p50 {p50:.0f} ms · p99 {p99:.0f} ms over {len(found):,} ballots at "
                    f"{window.rate():,.0f}/s"
                ),
            )
        ],
        limits=(
            f"Each lag is over-estimated by up to one poll ({POLL_SECONDS * 1000:.0f} ms plus "
            "the query); the sampler, clients, server, projection and PostgreSQL share the "
            "machine. One load window, no interleaved peer: the target is absolute. "
            + ("" if size == "full" else "`make bench-full` runs a longer window.")
        ).strip(),
    )
