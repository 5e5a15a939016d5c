"""W2: a teller uploading paper ballots in batches, against the Ed25519 verify limit.

Method, and why:
- One teller (one keep-alive connection, as at a counting table) POSTs batches of
  BATCH ballots to /api/v1/commands/batch on `appraisal serve` over PostgreSQL. Each
  ballot is its own envelope signed by the teller with its own paper serial (issued in
  balloting.open, one meeting per batch), and is checked, recorded and proved on its
  own; the accepted ones of a batch share one transaction.
- The limit is P3's (`bench.p3_limits.limits()`, measured once per run): Ed25519
  verifications per second on one core. A batch is one request served by one
  thread, so that is the most a teller could get if checking signatures were all the
  server did; the ratio against all cores is recorded too.
- Rate = ballots accepted / window; a batch's own rate gives the spread.
"""

import json
from pathlib import Path

from bench import load, p3_limits, progress, stores, w2_floor
from bench.results import Target, WorkloadResult
from bench.stats import median_interval
from bench.w1_http_ballots import THREADS, WORKERS, Campaign, api_server, deployed
from domain.keys import raw_public_key

BATCH = 200
SIZES = {"reduced": (15, 20.0), "full": (50, 60.0)}  # batches, longest window in seconds
WARM_UP = 2
PATH = "/api/v1/commands/batch"
THRESHOLD = 0.45  # issue 18: of the one-core Ed25519 limit


def run(size: str, workdir: Path) -> WorkloadResult:
    batches, seconds = SIZES[size]
    limits = p3_limits.limits()
    with (
        stores.postgres_database() as database_url,
        deployed(workdir / "data", stores.postgres_schema(database_url, "w2")) as deployment,
    ):
        campaign = Campaign(deployment).set_up()
        envelopes = campaign.paper_ballots((WARM_UP + batches) * BATCH, meeting_size=BATCH)
        bodies = [
            json.dumps({"envelopes": envelopes[start : start + BATCH]}).encode()
            for start in range(0, len(envelopes), BATCH)
        ]
        with api_server(deployment, workdir / "server.log") as served:
            load.post_all(served.port, PATH, bodies[:WARM_UP], clients=1, max_seconds=seconds)
            with progress.task(f"W2: {batches} batches of {BATCH}", 1) as advance:
                cpu_before = served.cpu_seconds()
                window = load.post_all(
                    served.port, PATH, bodies[WARM_UP:], clients=1, max_seconds=seconds
                )
                window.server_cpu_seconds = served.cpu_seconds() - cpu_before
                advance(1)
        floor = w2_floor.measure(
            deployment.system.app, bodies[WARM_UP:], raw_public_key(campaign.teller.key)
        )
    return _result(size, window, limits, floor)


def _accepted(reply: load.Reply) -> int:
    if reply.status != 200:
        return 0
    return sum(item["status"] == "accepted" for item in json.loads(reply.body)["results"])


def _per_ballot_ms(seconds: float | None, ballots: int) -> float | None:
    return None if seconds is None or not ballots else round(1000 * seconds / ballots, 3)


def _result(
    size: str, window: load.LoadRun, limits: p3_limits.Limits, floor: w2_floor.Floor
) -> WorkloadResult:
    accepted = [_accepted(reply) for reply in window.replies]
    rate = sum(accepted) / window.seconds
    limit = limits.ed25519_one_core
    per_batch = [n / r.latency / limit for n, r in zip(accepted, window.replies, strict=True)]
    low, high = median_interval(per_batch)
    server_ms = _per_ballot_ms(window.server_cpu_seconds, sum(accepted))
    return WorkloadResult(
        name="W2",
        description=(
            f"A teller's paper ballots, {BATCH} individually signed envelopes per POST to "
            f"/api/v1/commands/batch over one keep-alive connection, gunicorn "
            f"{WORKERS}×{THREADS} on PostgreSQL; {len(window.replies)} batches, against P3's "
            f"single-core Ed25519 verification rate"
        ),
        measurements={
            "ballots_per_s": round(rate, 1),
            "ballots_accepted": sum(accepted),
            "ballots_sent": len(window.replies) * BATCH,
            "server_cpu_ms_per_ballot": server_ms,
            "batch_p50_ms": round(window.latency_ms(50, (200,)), 1),
            "batch_p99_ms": round(window.latency_ms(99, (200,)), 1),
            "load": window.summary(),
            "floor": floor.to_json(),
        },
        peers={"P3": limits.to_json()},
        ratios={
            "W2/ed25519_one_core": round(rate / limit, 4),
            "W2/ed25519_all_cores": round(rate / limits.ed25519_all_cores, 4),
            "floor/ed25519_one_core": round(floor.rate / limit, 4),
        },
        targets=[
            Target(
                name="teller batch ballots/s vs Ed25519 verify limit (1 core)",
                measured=round(rate / limit, 4),
                threshold=THRESHOLD,
                interval=(round(low, 4), round(high, 4)),
                summary=f"W2: {rate:,.0f}/s · limit: {limit:,.0f}/s",
            )
        ],
        limits=(
            f"Server CPU per accepted ballot: {server_ms} ms, against {1000 / limit:.3f} ms "
            "for one bare Ed25519 verification. "
            "The interval is over the batches' own rates. One teller: one request in flight, "
            "so the server's other core is left to PostgreSQL; client, server and database "
            "share the machine. "
            f"The floor (bench/w2_floor.py: parse, verify and append one event per ballot, "
            f"no checks, no HTTP) stores {floor.rate:,.0f} ballots/s, "
            f"{floor.rate / limit:.2f} × the limit. "
            + ("" if size == "full" else "`make bench-full` sends more batches.")
        ).strip(),
    )
