"""W1: signed ballots over HTTP, 8 concurrent clients against gunicorn on PostgreSQL,
against two peers served the same way under the same load (same envelopes):
P2 (`bench.p2_plain_insert`, INSERT the JSON, check nothing) and P1
(`bench.p1_naive_es`, one event-sourced aggregate per appraisee); and beside them W1's
floor (`bench.w1_floor`: verify and ledger each ballot, nothing else), which bounds
what any audited write on this stack could reach.

Method, and why:
- The campaign has few appraisees (5) and every ballot rates all of them, so each
  appraisee holds 500+ ballots: W1's warm-up alone casts 500, and P1's aggregates are
  pre-filled with 500 rows each (that is where the naive design pays: every ballot
  replays every rated appraisee's whole history) and grow by the few P1 accepts.
- Anonymous ballots with one-time credentials, in meetings of 100 (a large meeting):
  each ballot spends its own credential, as in the product. All envelopes are signed
  before any timed window.
- The four servers run side by side with `appraisal serve`'s options (2 gthread
  workers × 4 threads); rounds go W1, P2, floor, P1, then the reverse, so background
  load hits all alike, and ratios are medians of per-round ratios. Every design gets the
  same bodies in a round; each round is bounded by count and by time.
- No projection runs here: W1 is the write path, like its peers; W6 measures the read
  side under the same load.

The helpers to stand up a store, a campaign and the served API are shared with W2, W6
and the multi-process test.
"""

import json
import random
import statistics
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from bench import load, p1_naive_es, p2_plain_insert, progress, stores, w1_floor
from bench.results import Target, WorkloadResult
from bench.stats import median_interval
from domain.envelope import parse_timestamp
from entrypoints.demo import load_rules
from entrypoints.signing import Signer, new_id
from projections.read_side import ReadSide
from service.commands import Accepted
from service.settings import Settings
from service.system import System, initialise

CLIENTS = 8
WORKERS = 2
THREADS = 4
APPRAISEES = 5
MEETING_SIZE = 100
DEPTH = 500
WARM_UP = 500
CHOICES = ("competent", "excellent", "competent", "incompetent", "competent")
COMMANDS = "/api/v1/commands"
STARTUP_LIMIT = 120.0
# Issue 18 restated them against floors that are floors: W1 ≥ 0.55 × P2 and ≥ 0.8 × the
# floor (bench/w1_floor.py); P1 stays a reference, with no target.
P2_THRESHOLD = 0.55
FLOOR_THRESHOLD = 0.8


@dataclass(frozen=True)
class Plan:
    rounds: int
    ballots: int  # ballots per round, the same bodies for every design
    seconds: float  # the longest round of W1 or P2
    p1_seconds: float  # the longest round of P1, which gets through few of them


SIZES = {
    "reduced": Plan(rounds=5, ballots=1200, seconds=6.0, p1_seconds=5.0),
    "full": Plan(rounds=9, ballots=2500, seconds=12.0, p1_seconds=10.0),
}


@dataclass
class Deployment:
    """An initialised store, its admin key, and the system opened on it in this process."""

    settings: Settings
    admin: Signer
    system: System

    @property
    def env(self) -> dict[str, str]:
        """What a server or CLI subprocess needs to open the same store."""
        return {
            "APPRAISAL_DATA_DIR": str(self.settings.data_dir),
            "APPRAISAL_DATABASE_URL": self.settings.database_url,
        }

    @cached_property
    def read(self) -> ReadSide:
        return ReadSide.open(self.system.app)

    def send(self, who: Signer, command_type: str, **fields: Any) -> Accepted:
        return self.system.bus.handle(who.envelope(command_type, **fields))


@contextmanager
def deployed(data_dir: Path, database_url: str) -> Iterator[Deployment]:
    """Like `stores.opened`, but keeping the admin key: the set-up registers actors."""
    settings = Settings.from_env(
        {"APPRAISAL_DATA_DIR": str(data_dir), "APPRAISAL_DATABASE_URL": database_url}
    )
    admin = Signer("admin")
    initialise(settings, admin.public_key)
    system = System.open(settings)
    try:
        yield Deployment(settings, admin, system)
    finally:
        system.close()


@dataclass
class Campaign:
    """A published seed-000 campaign with few appraisees, an organiser and a teller."""

    deployment: Deployment
    appraisees: int = APPRAISEES
    id: str = field(default_factory=new_id)
    organizer: Signer = field(default_factory=lambda: Signer("organizer"))
    teller: Signer = field(default_factory=lambda: Signer("teller"))
    appraisee_ids: list[str] = field(default_factory=list)
    credentials: list[tuple[Signer, str]] = field(default_factory=list)  # and meeting

    def set_up(self) -> "Campaign":
        for official in (self.organizer, self.teller):
            self.deployment.send(
                self.deployment.admin,
                "actor.register",
                actor_id=official.actor_id,
                name=official.name,
                roles=[official.name],
                public_key=official.public_key,
            )
        self.appraisee_ids = [new_id() for _ in range(self.appraisees)]
        self._organize(
            "campaign.create", title="W1", year=2025, rules=load_rules("seed000_city.json")
        )
        self._organize(
            "campaign.add_appraisees",
            appraisees=[
                {
                    "appraisee_id": appraisee,
                    "name": f"干部{n}",
                    "position": "社区党支部书记",
                    "unit": f"社区{n}",
                    "category": "cadre",
                }
                for n, appraisee in enumerate(self.appraisee_ids)
            ],
        )
        self._organize("campaign.publish")
        return self

    def credential_ballots(
        self, count: int, meeting_size: int = MEETING_SIZE
    ) -> list[dict[str, Any]]:
        """`count` ballots, each signed by its own one-time credential issued in a meeting
        of `meeting_size` resident representatives; `credentials` keeps the keys."""
        envelopes = []
        with progress.task("set-up: meetings and credential ballots", count) as advance:
            for start in range(0, count, meeting_size):
                keys = [Signer() for _ in range(min(meeting_size, count - start))]
                resident = {"group": "resident_rep", "public_keys": [k.public_key for k in keys]}
                meeting = self._open([resident])
                opened_at = parse_timestamp(self.deployment.system.opened_at(meeting))
                self.credentials += [(key, meeting) for key in keys]
                envelopes += [self.ballot(key, meeting, issued_at=opened_at) for key in keys]
                advance(len(keys))
        return envelopes

    def paper_ballots(self, count: int, meeting_size: int) -> list[dict[str, Any]]:
        """`count` paper ballots typed in and signed by the teller, each with its own serial."""
        envelopes = []
        with progress.task("set-up: meetings and paper ballots", count) as advance:
            for start in range(0, count, meeting_size):
                serials = [f"P-{n:06d}" for n in range(start, min(start + meeting_size, count))]
                meeting = self._open([], paper=[{"group": "resident_rep", "serials": serials}])
                envelopes += [self.ballot(self.teller, meeting, paper_serial=s) for s in serials]
                advance(len(serials))
        return envelopes

    def _open(self, credentials: list[dict[str, Any]], **extra: Any) -> str:
        """A meeting; every meeting also issues the three unit representatives the
        rules' quorum requires."""
        meeting = new_id()
        units = [Signer().public_key for _ in range(3)]
        self._organize(
            "balloting.open",
            meeting_id=meeting,
            credentials=[*credentials, {"group": "unit_rep", "public_keys": units}],
            **extra,
        )
        return meeting

    def ballot(self, who: Signer, meeting: str, **extra: Any) -> dict[str, Any]:
        """A ballot.cast envelope signed by `who`, rating every appraisee."""
        shift = random.randrange(len(CHOICES))
        rows = [
            {"appraisee_id": appraisee, "choice": CHOICES[(n + shift) % len(CHOICES)]}
            for n, appraisee in enumerate(self.appraisee_ids)
        ]
        return who.envelope(
            "ballot.cast",
            campaign_id=self.id,
            meeting_id=meeting,
            ballot_id=new_id(),
            group="resident_rep",
            rows=rows,
            **extra,
        )

    def _organize(self, command_type: str, **fields: Any) -> Accepted:
        return self.deployment.send(self.organizer, command_type, campaign_id=self.id, **fields)


def encoded(envelopes: Sequence[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(envelope).encode() for envelope in envelopes]


@contextmanager
def api_server(
    deployment: Deployment, log: Path, workers: int = WORKERS, threads: int = THREADS
) -> Iterator[load.Served]:
    """`appraisal serve` on the deployment's store."""
    port = load.free_port()
    command_line = load.appraisal_command(
        "serve", "--port", str(port), "--workers", str(workers), "--threads", str(threads)
    )
    with load.server(command_line, port, "/readyz", log, deployment.env) as process:
        yield load.Served(port, process.pid)


@contextmanager
def peer_server(app: str, env: dict[str, str], log: Path) -> Iterator[load.Served]:
    port = load.free_port()
    command_line = load.wsgi_command(app, port, WORKERS, THREADS)
    with load.server(command_line, port, "/healthz", log, env) as process:
        yield load.Served(port, process.pid)


@dataclass
class Rounds:
    """One design's timed rounds."""

    runs: list[load.LoadRun] = field(default_factory=list)

    @property
    def rates(self) -> list[float]:
        return [run.rate() for run in self.runs]

    @property
    def median_rate(self) -> float:
        return statistics.median(self.rates)

    def median_latency_ms(self, q: float) -> float:
        return statistics.median(run.latency_ms(q) for run in self.runs)

    def median_cpu_ms(self, where: str) -> float | None:
        """Median over rounds of the server's or the database's CPU per accepted request."""
        values = [run.summary()[f"{where}_cpu_ms_per_request"] for run in self.runs]
        known = [v for v in values if v is not None]
        return round(statistics.median(known), 2) if known else None

    def to_json(self) -> dict[str, Any]:
        return {
            "rounds": [run.summary() for run in self.runs],
            "median_rate_per_s": round(self.median_rate, 1),
            "median_p50_ms": round(self.median_latency_ms(50), 1),
            "median_p99_ms": round(self.median_latency_ms(99), 1),
            "median_server_cpu_ms_per_request": self.median_cpu_ms("server"),
            "median_database_cpu_ms_per_request": self.median_cpu_ms("database"),
        }


def run(size: str, workdir: Path) -> WorkloadResult:
    plan = SIZES[size]
    with stores.postgres_database() as database_url, ExitStack() as stack:
        deployment = stack.enter_context(
            deployed(workdir / "data", stores.postgres_schema(database_url, "w1"))
        )
        campaign = Campaign(deployment).set_up()
        bodies = encoded(campaign.credential_ballots(WARM_UP + plan.rounds * plan.ballots))
        p2_plain_insert.create_table(database_url)
        p1_url = stores.postgres_schema(database_url, "p1")
        p1_naive_es.prefill(p1_url, campaign.appraisee_ids, DEPTH)
        p2_env = p2_plain_insert.environment(database_url, THREADS)
        p1_env = p1_naive_es.environment(p1_url, THREADS)
        floor_env = w1_floor.environment(deployment.env, campaign.id)
        servers = {
            "W1": (api_server(deployment, workdir / "w1.log"), COMMANDS, plan.seconds),
            "P2": (
                peer_server(p2_plain_insert.APP, p2_env, workdir / "p2.log"),
                "/ballots",
                plan.seconds,
            ),
            "P1": (
                peer_server(p1_naive_es.APP, p1_env, workdir / "p1.log"),
                "/ballots",
                plan.p1_seconds,
            ),
            "floor": (
                peer_server(w1_floor.APP, floor_env, workdir / "floor.log"),
                "/ballots",
                plan.seconds,
            ),
        }
        served = {name: stack.enter_context(server) for name, (server, _, _) in servers.items()}

        def post(name: str, chunk: Sequence[bytes], seconds: float | None = None) -> load.LoadRun:
            _, path, limit = servers[name]
            backends = stores.backend_pids(database_url)
            server_before = served[name].cpu_seconds()
            database_before = None if backends is None else load.cpu_seconds(backends)
            run = load.post_all(
                served[name].port, path, chunk, clients=CLIENTS, max_seconds=seconds or limit
            )
            run.server_cpu_seconds = served[name].cpu_seconds() - server_before
            if database_before is not None:
                run.database_cpu_seconds = load.cpu_seconds(backends) - database_before
            return run

        # Warm-up, not timed; W1's brings each of its appraisees to WARM_UP ballots.
        post("W1", bodies[:WARM_UP], seconds=STARTUP_LIMIT)
        post("P2", bodies[:WARM_UP], seconds=STARTUP_LIMIT)
        post("P1", bodies[:WARM_UP])
        post("floor", bodies[:WARM_UP], seconds=STARTUP_LIMIT)
        rounds = {name: Rounds() for name in servers}
        p1_depths = [p1_naive_es.depths(p1_url, campaign.appraisee_ids)]
        with progress.task("W1: rounds of W1, P2, P1 and the floor", plan.rounds) as advance:
            for number in range(plan.rounds):
                start = WARM_UP + number * plan.ballots
                chunk = bodies[start : start + plan.ballots]
                order = ("W1", "P2", "floor", "P1")
                for name in order if number % 2 == 0 else reversed(order):
                    rounds[name].runs.append(post(name, chunk))
                p1_depths.append(p1_naive_es.depths(p1_url, campaign.appraisee_ids))
                advance(1)
    return _result(size, plan, rounds, p1_depths)


def _attempts(runs: Sequence[load.LoadRun]) -> float:
    """P1's mean tries per accepted ballot: how often concurrent ballots collided."""
    tries = [json.loads(reply.body)["attempts"] for run in runs for reply in run.ok()]
    return statistics.mean(tries) if tries else float("nan")


def _result(
    size: str, plan: Plan, rounds: dict[str, Rounds], p1_depths: list[list[int]]
) -> WorkloadResult:
    w1, p2, p1, floor = rounds["W1"], rounds["P2"], rounds["P1"], rounds["floor"]
    vs_p2 = [a / b for a, b in zip(w1.rates, p2.rates, strict=True)]
    floor_vs_p2 = statistics.median(a / b for a, b in zip(floor.rates, p2.rates, strict=True))
    vs_p1 = [a / b if b else float("inf") for a, b in zip(w1.rates, p1.rates, strict=True)]
    vs_floor = [a / b for a, b in zip(w1.rates, floor.rates, strict=True)]
    shown = (
        f"W1: {w1.median_rate:,.0f}/s (p50 {w1.median_latency_ms(50):.0f} ms, "
        f"p99 {w1.median_latency_ms(99):.0f} ms)"
    )

    def target(name: str, ratios: list[float], threshold: float, peer: str) -> Target:
        low, high = median_interval(ratios)
        return Target(
            name=name,
            measured=round(statistics.median(ratios), 3),
            threshold=threshold,
            interval=(round(low, 3), round(high, 3)),
            summary=f"{shown} · {peer}: {rounds[peer].median_rate:,.1f}/s",
        )

    low, high = min(p1_depths[0]), max(p1_depths[-1])
    return WorkloadResult(
        name="W1",
        description=(
            f"Signed ballot.cast envelopes POSTed by {CLIENTS} concurrent keep-alive clients to "
            f"gunicorn ({WORKERS} workers × {THREADS} threads) on PostgreSQL, against P2 (plain "
            f"INSERT of the JSON) and P1 (naive aggregate per appraisee, {low}–{high} rows each "
            f"during its rounds) under the same load; medians of {plan.rounds} interleaved rounds "
            f"of up to {plan.ballots:,} ballots or {plan.seconds:.0f} s ({plan.p1_seconds:.0f} s "
            f"for P1)"
        ),
        measurements={"W1": w1.to_json()},
        peers={
            "P2": p2.to_json(),
            "P1": {
                **p1.to_json(),
                "rows_per_appraisee_by_round": p1_depths,
                "mean_attempts_per_ballot": round(_attempts(p1.runs), 2),
            },
            "floor": floor.to_json(),
        },
        ratios={
            "W1/P2": round(statistics.median(vs_p2), 3),
            "W1/P1": round(statistics.median(vs_p1), 3),
            "floor/P2": round(floor_vs_p2, 3),
            "W1/floor": round(statistics.median(vs_floor), 3),
        },
        targets=[
            target("W1 ballots/s vs P2 (plain INSERT)", vs_p2, P2_THRESHOLD, "P2"),
            target(
                "W1 ballots/s vs its floor (verify and append)", vs_floor, FLOOR_THRESHOLD, "floor"
            ),
        ],
        limits=(
            f"CPU per accepted request, medians: W1's gunicorn workers "
            f"{w1.median_cpu_ms('server')} ms and its database backends "
            f"{w1.median_cpu_ms('database')} ms; P2's {p2.median_cpu_ms('server')} ms and "
            f"{p2.median_cpu_ms('database')} ms. "
            f"The floor (bench/w1_floor.py: verify and append one event per ballot, no checks) "
            f"serves {floor.median_rate:,.0f}/s, {floor_vs_p2:.2f} × P2, with "
            f"{floor.median_cpu_ms('server')} ms and {floor.median_cpu_ms('database')} ms. "
            "Clients, servers and PostgreSQL share the machine's cores; the clients are threads "
            "of the harness (their CPU share per round is in the JSON). No projection or read "
            "traffic runs during W1 (W6 has them). P1 and P2 verify no signature; P1 retries "
            "version conflicts (its mean attempts per ballot are in the JSON). "
            + ("" if size == "full" else "`make bench-full` runs more and longer rounds.")
        ).strip(),
    )
