"""W4: `appraisal audit replay` of the city campaign on its live PostgreSQL store.

Method, and why:
- The real CLI re-derives the finalised campaign's grades from the store and diffs
  them against its proposal, in a process of its own, as an inspector runs it.
- It has no target of its own; to say where its time goes it is set beside, in the
  same run: the CLI's start-up alone (`appraisal --help`: interpreter and imports), the
  same derivation in this process from the store (`load_inputs`: batched reads of the
  ballots and their positions, then `domain.derivation.derive`: scoring), and the derivation from
  memory — the very aggregates that read returned, handed back without a database —
  which is what scoring the outcome costs by itself.
- Rounds are interleaved, medians reported.
"""

import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from uuid import UUID

from bench import city, progress
from bench.results import WorkloadResult
from domain.derivation import derive
from service.derivation_inputs import EventSource, load_inputs
from service.system import System

ROUNDS = 3


class Recorded:
    """An EventSource that keeps what another one returned, and can serve it again."""

    def __init__(self, source: EventSource) -> None:
        self.source = source
        self.aggregates: dict[UUID, Any] = {}
        self.positions: dict[tuple[UUID, int], int] = {}

    def load_many(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Any]:
        found = self.source.load_many(aggregate_ids)
        self.aggregates.update(found)
        return found

    def positions_of(self, streams: Iterable[UUID]) -> dict[tuple[UUID, int], int]:
        found = self.source.positions_of(streams)
        self.positions.update(found)
        return found


class InMemory:
    """What a `Recorded` source saw, served from memory."""

    def __init__(self, recorded: Recorded) -> None:
        self.aggregates = recorded.aggregates
        self.positions = recorded.positions

    def load_many(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Any]:
        return {i: self.aggregates[i] for i in aggregate_ids if i in self.aggregates}

    def positions_of(self, streams: Iterable[UUID]) -> dict[tuple[UUID, int], int]:
        wanted = set(streams)
        return {key: index for key, index in self.positions.items() if key[0] in wanted}


def run(size: str, workdir: Path) -> WorkloadResult:
    shared = city.shared(size)
    system = System.open(shared.settings)
    try:
        campaign = system.app.find(UUID(shared.campaign_id))
        recorded = Recorded(system.app)
        expected = derive(campaign, load_inputs(recorded, campaign)).proposal_hash
        memory = InMemory(recorded)
        samples: dict[str, list[float]] = {"replay": [], "startup": [], "store": [], "memory": []}
        measures: dict[str, Callable[[], float]] = {
            "replay": lambda: _replay(shared, workdir),
            "startup": lambda: shared.cli(workdir, "--help", store=False).seconds,
            "store": lambda: _timed(
                lambda: derive(campaign, load_inputs(system.app, campaign)).proposal_hash, expected
            ),
            "memory": lambda: _timed(
                lambda: derive(campaign, load_inputs(memory, campaign)).proposal_hash, expected
            ),
        }
        with progress.task("W4: audit replay, start-up, derive", ROUNDS) as advance:
            for _ in range(ROUNDS):
                for name, measure in measures.items():
                    samples[name].append(measure())
                advance(1)
    finally:
        system.close()
    median = {name: statistics.median(values) for name, values in samples.items()}
    return WorkloadResult(
        name="W4",
        description=(
            f"`appraisal audit replay` of the city campaign ({shared.appraisees:,} appraisees, "
            f"{shared.ballots:,} ballots) on PostgreSQL: {median['replay']:.2f} s median of "
            f"{ROUNDS}. Beside it: the CLI's start-up alone {median['startup']:.2f} s; the "
            f"same derivation in-process from the store {median['store']:.2f} s, and from "
            f"memory (the {len(recorded.aggregates):,} aggregates that read returned) "
            f"{median['memory']:.2f} s"
        ),
        measurements={
            "city": shared.to_json(),
            "aggregates_read": len(recorded.aggregates),
            **{f"{name}_s": [round(v, 3) for v in values] for name, values in samples.items()},
            **{f"median_{name}_s": round(value, 3) for name, value in median.items()},
        },
        peers={},
        ratios={
            "replay_vs_memory": round(median["replay"] / median["memory"], 2),
            "store_vs_memory": round(median["store"] / median["memory"], 2),
            "startup_share": round(median["startup"] / median["replay"], 2),
        },
        targets=[],
        limits=(
            "No target in the issue. The replay opens the store, replays the campaign "
            "aggregate (one event per meeting opened and closed), reads every ballot right "
            "and ballot in batches and scores with exact fractions; its JSON answer lists "
            "every appraisee. "
            + ("" if size == "full" else "The city's 621 communities need `make bench-full`.")
        ).strip(),
    )


def _replay(shared: city.City, workdir: Path) -> float:
    replayed = shared.cli(workdir, "audit", "replay", shared.campaign_id, "--json")
    if not replayed.json()["identical"]:
        raise RuntimeError("audit replay: the city's re-derived grades differ from its proposal")
    return replayed.seconds


def _timed(derivation: Callable[[], str], expected: str) -> float:
    start = time.perf_counter()
    got = derivation()
    seconds = time.perf_counter() - start
    if got != expected:
        raise RuntimeError("the derivation's proposal hash changed between rounds")
    return seconds
