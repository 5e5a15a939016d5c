"""W7: appending one event with its ledger update must not get slower as the log grows.

Method, and why:
- Two stores per backend, one filled to the small size and one to the large size, with
  the real ledger path in 1,000-event transactions (fast, and it writes every leaf and
  Merkle node an append would).
- After filling, the stores are settled (statistics, checkpoint) so neither side pays
  for the bulk load during measurement.
- A round is a few hundred single-event transactions, one `app.record(aggregate)`
  each: what every accepted command costs. Rounds come in pairs, one on each store
  back to back (alternating which goes first), after one discarded warm-up round each.
- The ratio is the median over pairs of large-rate / small-rate. Other work on the
  machine (test suites, builds) swings rates by tens of percent within seconds; both
  rounds of a pair see nearly the same load, so their ratio cancels it, and the
  median drops pairs a burst split.
"""

import gc
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import progress, stores
from bench.results import Target, WorkloadResult
from bench.stats import median_interval
from domain.registry import KeyBinding
from service.application import AppraisalApplication
from service.system import System

SIZES = {"reduced": (10_000, 200_000), "full": (10_000, 1_000_000)}
FILL_BATCH = 1_000
APPENDS_PER_ROUND = 200
PAIRS = 30
THRESHOLD = 0.90


@dataclass
class Series:
    """Append rates measured round by round on one store."""

    size_before: int
    rates: list[float] = field(default_factory=list)
    size_after: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    def to_json(self) -> dict[str, Any]:
        return {
            "log_size": [self.size_before, self.size_after],
            "rates_per_s": [round(rate, 1) for rate in self.rates],
            "median_per_s": round(self.median, 1),
        }


@dataclass
class Comparison:
    """One backend's small-log and large-log series, measured pair by pair."""

    store: str
    small: Series
    large: Series

    @property
    def pair_ratios(self) -> list[float]:
        return [
            big / little for little, big in zip(self.small.rates, self.large.rates, strict=True)
        ]

    @property
    def ratio(self) -> float:
        return statistics.median(self.pair_ratios)

    def target(self, small_size: int, large_size: int) -> Target:
        low, high = median_interval(self.pair_ratios)
        return Target(
            name=(
                f"{self.store}: append rate at {_count(large_size)} vs {_count(small_size)} events"
            ),
            measured=round(self.ratio, 3),
            threshold=THRESHOLD,
            interval=(round(low, 3), round(high, 3)),
            summary=(
                f"{_count(small_size)}: {self.small.median:,.0f}/s · "
                f"{_count(large_size)}: {self.large.median:,.0f}/s"
            ),
        )


def run(size: str, workdir: Path) -> WorkloadResult:
    small, large = SIZES[size]
    with stores.postgres_database() as database_url:
        postgres = _compare(
            "PostgreSQL",
            workdir / "postgresql",
            (stores.postgres_schema(database_url, "small"), small),
            (stores.postgres_schema(database_url, "large"), large),
            settle=lambda: stores.postgres_settle(database_url),
        )
    small_file = workdir / "sqlite" / "small.sqlite3"
    large_file = workdir / "sqlite" / "large.sqlite3"

    def settle_sqlite() -> None:
        stores.sqlite_settle(small_file)
        stores.sqlite_settle(large_file)

    sqlite = _compare(
        "SQLite",
        workdir / "sqlite",
        (f"sqlite:///{small_file}", small),
        (f"sqlite:///{large_file}", large),
        settle=settle_sqlite,
    )
    comparisons = {"postgresql": postgres, "sqlite": sqlite}
    return WorkloadResult(
        name="W7",
        description=(
            f"Single-event append rate (one command's write: event + Merkle leaf + nodes in "
            f"one transaction) at {_count(large)} vs {_count(small)} stored events; ratio = "
            f"median over {PAIRS} back-to-back pairs of {APPENDS_PER_ROUND:,}-append rounds"
        ),
        measurements={
            store: {**c.large.to_json(), "pair_ratios": [round(r, 3) for r in c.pair_ratios]}
            for store, c in comparisons.items()
        },
        peers={store: c.small.to_json() for store, c in comparisons.items()},
        ratios={store: round(c.ratio, 3) for store, c in comparisons.items()},
        targets=[c.target(small, large) for c in comparisons.values()],
        limits=(
            f"One writer, no concurrent readers, projections or checkpointer; every event is "
            f"a one-event KeyBinding; database and harness share the machine. The small log "
            f"grows by the measured appends (here {_count(small)} to "
            f"{_count(postgres.small.size_after)}). "
            + ("" if size == "full" else "The issue's 1M point needs `make bench-full`.")
        ).strip(),
    )


def _compare(
    store: str,
    workdir: Path,
    small: tuple[str, int],
    large: tuple[str, int],
    settle: Callable[[], None],
) -> Comparison:
    """Fill a small and a large store, settle them, and measure both in alternation."""
    (small_url, small_size), (large_url, large_size) = small, large
    with (
        stores.opened(workdir / "small", small_url) as small_system,
        stores.opened(workdir / "large", large_url) as large_system,
    ):
        _fill(small_system, small_size, f"W7 {store}: fill to {_count(small_size)}")
        _fill(large_system, large_size, f"W7 {store}: fill to {_count(large_size)}")
        settle()
        return Comparison(store, *_interleave(store, small_system, large_system))


def _fill(system: System, size: int, description: str) -> None:
    have = system.ledger.size()
    with progress.task(description, size) as advance:
        advance(have)
        while have < size:
            batch = min(FILL_BATCH, size - have)
            system.app.record(*(_event() for _ in range(batch)))
            have += batch
            advance(batch)


def _interleave(store: str, small: System, large: System) -> tuple[Series, Series]:
    systems = (small, large)
    for system in systems:
        _round(system.app)
    series = (Series(small.ledger.size()), Series(large.ledger.size()))
    with progress.task(f"W7 {store}: measure, small/large pairs", PAIRS) as advance:
        for number in range(PAIRS):
            for side in (0, 1) if number % 2 == 0 else (1, 0):
                series[side].rates.append(_round(systems[side].app))
            advance(1)
    for side, system in zip(series, systems, strict=True):
        side.size_after = system.ledger.size()
    return series


def _round(app: AppraisalApplication) -> float:
    """Appends per second over one round; aggregates are built before the clock starts."""
    events = [_event() for _ in range(APPENDS_PER_ROUND)]
    gc.collect()
    start = time.perf_counter()
    for event in events:
        app.record(event)
    return APPENDS_PER_ROUND / (time.perf_counter() - start)


def _event() -> KeyBinding:
    return KeyBinding(id=uuid.uuid4(), key_id=uuid.uuid4().hex, holder="bench", holder_id="-")


def _count(n: int) -> str:
    """10000 -> 10k, 1000000 -> 1M: sizes as people say them."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.3g}M"
    if n >= 1_000:
        return f"{n / 1_000:.3g}k"
    return str(n)
