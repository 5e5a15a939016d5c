"""W5: p50/p99 latency of results and explanation reads at city scale.

Method, and why:
- The city (bench/city.py) on PostgreSQL, its views brought up to date with
  `projections.catch_up` first (timed and reported, not part of the latency).
- Reads go through the real API — `api.create_app(system=…)` and Flask's test
  client, with bearer tokens from the signed-challenge login — so routing, auth,
  query parsing and response serialisation count, but no network or WSGI server does.
- Results are read as an organiser pages them: `limit=100` at a random offset.
  Explanations are read as an inspector (the heaviest caller: every ballot's signed
  envelope is included) for random appraisees.
- Explanations read the proposal's derivation, which the projection worker derived and
  stored when it projected the proposal (inside the timed catch-up). The first
  explanation is measured on its own; so is one that finds no stored derivation (it is
  deleted first) and derives the whole campaign itself, the path taken only if the
  worker's derivation failed. Neither counts in the p99 of the rest.
- Requests alternate between the two kinds, after a few discarded warm-up requests.
"""

import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from api import create_app
from api.config import ApiOptions
from bench import city, progress
from bench.results import Target, WorkloadResult
from bootstrap import Services
from domain import keys
from domain.envelope import SESSION_PREFIX
from entrypoints.signing import Signer
from projections import catch_up
from projections.read_side import ReadSide

REQUESTS = 200
WARM_UP = 5
PAGE = 100
P99_TARGET_MS = 50.0
SEED = 5
OPTIONS = ApiOptions(checkpointer=False, inprocess_projections=False, log_level="WARNING")


def run(size: str, workdir: Path) -> WorkloadResult:
    shared = city.shared(size)
    rng = random.Random(SEED)
    services = Services.open(shared.settings)
    system = services.system
    app = create_app(system=system, options=OPTIONS)
    try:
        start = time.perf_counter()
        projected = catch_up(services.read)
        catch_up_seconds = time.perf_counter() - start
        client = app.test_client()
        organizer = _bearer(client, shared.officials["organizer"])
        inspector = _bearer(client, shared.officials["inspector"])
        base = f"/api/v1/campaigns/{shared.campaign_id}/results"
        appraisees = [r["appraisee_id"] for r in _get(client, base, organizer)["results"]]
        pages = range(0, len(appraisees), PAGE)

        def results() -> Any:
            return _get(client, f"{base}?limit={PAGE}&offset={rng.choice(pages)}", organizer)

        def explanation() -> Any:
            return _get(client, f"{base}/{rng.choice(appraisees)}/explanation", inspector)

        cold = _timed(explanation)
        _forget_derivations(services.read, shared.campaign_id)
        on_demand = _timed(explanation)
        latencies = _measure({"results": results, "explanation": explanation})
    finally:
        app.extensions["appraisal"].close()
        services.close()
    p50 = {name: _percentile(values, 50) for name, values in latencies.items()}
    p99 = {name: _percentile(values, 99) for name, values in latencies.items()}
    return WorkloadResult(
        name="W5",
        description=(
            f"Reads over the API (Flask test client, bearer tokens) on the city's PostgreSQL "
            f"views ({len(appraisees):,} appraisees, {shared.ballots:,} ballots): "
            f"{REQUESTS} results pages (limit {PAGE}, organiser) and {REQUESTS} explanations "
            f"(inspector, with envelopes), alternating; the first explanation took "
            f"{cold * 1000:,.0f} ms, one deriving the campaign itself (no stored derivation) "
            f"{on_demand * 1000:,.0f} ms; catch-up of {projected:,} events, deriving the "
            f"proposal among them, took {catch_up_seconds:.1f} s"
        ),
        measurements={
            "city": shared.to_json(),
            "catch_up": {"events": projected, "seconds": round(catch_up_seconds, 2)},
            "first_explanation_ms": round(cold * 1000, 1),
            "explanation_deriving_ms": round(on_demand * 1000, 1),
            **{
                name: {
                    "p50_ms": round(p50[name], 2),
                    "p99_ms": round(p99[name], 2),
                    "mean_ms": round(statistics.fmean(values), 2),
                    "max_ms": round(max(values), 2),
                    "samples_ms": [round(v, 2) for v in values],
                }
                for name, values in latencies.items()
            },
        },
        peers={},
        ratios={f"{name}_p99_vs_target": round(p99[name] / P99_TARGET_MS, 2) for name in p99},
        targets=[
            Target(
                name=f"{name} read: p99 latency, ms",
                measured=round(p99[name], 2),
                threshold=P99_TARGET_MS,
                higher_is_better=False,
                summary=f"p50 {p50[name]:.1f} ms · p99 {p99[name]:.1f} ms",
            )
            for name in ("results", "explanation")
        ],
        limits=(
            "In-process WSGI: no network, no gunicorn, one client at a time; the views are "
            "current, so no read waits for the projection. An explanation that finds no "
            "stored derivation derives the campaign itself (measured above, not counted in "
            "the p99); with the worker running, none does. "
            + ("" if size == "full" else "The city's 621 communities need `make bench-full`.")
        ).strip(),
    )


def _forget_derivations(read: ReadSide, campaign_id: str) -> None:
    with read.views.writing() as tx:
        for table in ("derived_results", "derived_proposals"):
            tx.execute(f"DELETE FROM {{{table}}} WHERE campaign_id = ?", campaign_id)


def _bearer(client: FlaskClient, person: Signer) -> dict[str, str]:
    """Log in as the signed-challenge flow asks (POST /sessions/challenge, then /sessions)."""
    challenge = client.post("/api/v1/sessions/challenge").get_json()["challenge"]
    response = client.post(
        "/api/v1/sessions",
        json={
            "key_id": person.key_id,
            "challenge": challenge,
            "signature": keys.sign(person.key, SESSION_PREFIX + challenge.encode()),
        },
    )
    if response.status_code != 201:
        raise RuntimeError(f"W5: login refused: {response.get_data(as_text=True)}")
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def _get(client: FlaskClient, path: str, headers: dict[str, str]) -> Any:
    response = client.get(path, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"W5: GET {path}: {response.status_code} {response.get_data()[:500]!r}")
    return response.get_json()


def _timed(read: Callable[[], Any]) -> float:
    start = time.perf_counter()
    read()
    return time.perf_counter() - start


def _measure(reads: dict[str, Callable[[], Any]]) -> dict[str, list[float]]:
    """Milliseconds per request, the kinds alternating so background load hits both."""
    for read in reads.values():
        for _ in range(WARM_UP):
            read()
    latencies: dict[str, list[float]] = {name: [] for name in reads}
    with progress.task("W5: results and explanation reads", REQUESTS) as advance:
        for _ in range(REQUESTS):
            for name, read in reads.items():
                latencies[name].append(_timed(read) * 1000)
            advance(1)
    return latencies


def _percentile(values: list[float], percent: int) -> float:
    """Nearest-rank percentile: an observed latency, never an interpolated one."""
    ordered = sorted(values)
    rank = max(1, -(-percent * len(ordered) // 100))
    return ordered[rank - 1]
