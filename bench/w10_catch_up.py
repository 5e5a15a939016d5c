"""W10: is projection catch-up linear in the log's size?

Method, and why:
- `projections.rebuild` (drop the views, replay the whole store from zero, derive the
  proposal) on each city of `city.SCALES`, in process, on PostgreSQL; its cost per
  event is the wall time over the events projected.
- The target compares the largest city of the run with the base one (40 vs 160
  communities in `reduced`, 160 vs 2,484 in `full`): a batch's query bounds its leaves
  first (projections/worker.py, `SELECT_EVENTS`), so it must not slow as the log grows.
- Rebuilds run in ABBA order (base, largest, largest, base) and each city's cost is
  the mean of its two, so load on the shared machine that rises or falls during the
  workload hits both sides alike.
- The views are dropped again afterwards (`ViewStore.reset`), so that W5 finds the city
  as generated and times its own catch-up.
"""

import time
from pathlib import Path
from typing import Any

from bench import city, progress
from bench.results import Target, WorkloadResult
from bootstrap import Services
from projections import rebuild

RATIO_TARGET = 1.2
BASE = {"reduced": 40, "full": 160}
CITY_SECONDS_TARGET = 15.0  # a city (621 communities) from zero


def _rebuilt(shown: city.City) -> dict[str, Any]:
    services = Services.open(shown.settings)
    try:
        with progress.task(f"W10: catch-up of {shown.ledger_size:,} events", 1) as advance:
            start = time.perf_counter()
            events = rebuild(services.read)
            seconds = time.perf_counter() - start
            advance(1)
        services.read.views.reset()
    finally:
        services.close()
    return {"events": events, "seconds": round(seconds, 2), "us_per_event": seconds / events * 1e6}


def _mean(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = sum(r["seconds"] for r in rounds) / len(rounds)
    events = rounds[0]["events"]
    return {"events": events, "seconds": round(seconds, 2), "us_per_event": seconds / events * 1e6}


def run(size: str, workdir: Path) -> WorkloadResult:
    sizes = [n for n in city.SCALES[size] if n >= BASE[size]]
    order = [*sizes, *reversed(sizes)]
    rounds: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
    for n in order:
        rounds[n].append(_rebuilt(city.of(n)))
    runs = {n: _mean(r) for n, r in rounds.items()}
    base, largest = runs[BASE[size]], runs[max(runs)]
    ratio = largest["us_per_event"] / base["us_per_event"]
    shown = " · ".join(
        f"{n}: {r['events']:,} events in {r['seconds']:.1f} s ({r['us_per_event']:.0f} µs each)"
        for n, r in runs.items()
    )
    targets = [
        Target.scaling(
            "catch-up: cost per event", max(runs), BASE[size], ratio, RATIO_TARGET, shown
        )
    ]
    if 621 in runs:
        targets.append(
            Target(
                name="catch-up: a city (621 communities) from zero, seconds",
                measured=runs[621]["seconds"],
                threshold=CITY_SECONDS_TARGET,
                higher_is_better=False,
                summary=f"{runs[621]['events']:,} events",
            )
        )
    return WorkloadResult(
        name="W10",
        description=(
            "Projection catch-up from zero (`projections.rebuild`, in process, PostgreSQL, "
            f"deriving the proposal): {shown}"
        ),
        measurements={
            str(n): {k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()}
            for n, r in runs.items()
        },
        peers={},
        ratios={"per_event_largest_vs_base": round(ratio, 3)},
        targets=targets,
        limits=(
            "Two rebuilds per city in ABBA order, means shown. The views are written in the same "
            "database the events are read from, a batch's row changes in pipeline mode; a "
            "rebuild also derives the campaign's proposal once, after the last batch (about "
            "a third of the time since the row changes stopped waiting for each answer), "
            "which grows with the ballots as the events do."
        ),
    )
