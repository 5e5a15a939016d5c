"""W9: does a campaign command cost the same however large the campaign has grown?

Method, and why:
- The commands that load and change the campaign while its meetings run are
  `balloting.open` and `balloting.close` (`city.CAMPAIGN_COMMANDS`); the city generator
  sends one of each per community through the command bus and times each (the bus's
  whole `handle`: checks, the campaign's load, the handler, the write).
- The latency at a size is the median over the last quarter of that city's meetings,
  when the campaign holds nearly all its meetings and its whole roster; the target
  compares the largest city of the run with the smallest (`city.SCALES`: 40 vs 160
  communities in `reduced`, 40 vs 2,484 in `full`), both generated in the same run.
- The generator analyzes the store's tables as it grows, as autovacuum does on a
  deployed primary (`CityDriver.keep_statistics`): this machine's PostgreSQL runs with
  autovacuum off, and without statistics its plans grew worse with the table.
- Not interleaved: each city is generated once, one after the other, so other work
  on the machine can move one side; the report records the load average.
"""

import statistics
from pathlib import Path
from typing import Any

from bench import city
from bench.results import Target, WorkloadResult

RATIO_TARGET = 1.2


def latency(shown: city.City) -> dict[str, float]:
    """Median seconds of each campaign command over the city's last quarter of meetings."""
    return {
        name: statistics.median(times[-max(1, len(times) // 4) :])
        for name, times in shown.latency.items()
    }


def run(size: str, workdir: Path) -> WorkloadResult:
    cities = [city.of(n) for n in city.SCALES[size]]
    smallest, largest = cities[0], cities[-1]
    per_city: dict[str, Any] = {
        str(c.communities): {
            "latency_ms": {k: round(v * 1000, 2) for k, v in latency(c).items()},
            "city": c.to_json(),
        }
        for c in cities
    }
    small, large = latency(smallest), latency(largest)
    ratio = sum(large.values()) / sum(small.values())
    per_command = {name: round(large[name] / small[name], 3) for name in small}
    shown = " · ".join(f"{c.communities}: {sum(latency(c).values()) * 1000:.1f} ms" for c in cities)
    return WorkloadResult(
        name="W9",
        description=(
            "Campaign command latency (`balloting.open` + `balloting.close`, the median of "
            "each over a city's last quarter of meetings, through `CommandBus.handle` on "
            f"PostgreSQL) at {largest.communities} communities against {smallest.communities}: "
            f"{shown}"
        ),
        measurements={"cities": per_city},
        peers={},
        ratios={"largest_vs_smallest": round(ratio, 3), **per_command},
        targets=[
            Target.scaling(
                "campaign command latency",
                largest.communities,
                smallest.communities,
                ratio,
                RATIO_TARGET,
                shown,
            )
        ],
        limits=(
            "A process keeps the campaigns it has read (service.campaign_cache): a command "
            "reads only the events stored since and works on a one-level copy, and an "
            "opening checks one vote per evaluator only in the meetings that share its "
            "appraisees, so neither the meetings held nor the roster count. What still "
            "grows with the roster: a process's first read of a campaign decodes its "
            "snapshot (about 0.35 KB per appraisee), and a new snapshot is written every "
            "100 events (every 50 meetings; the median leaves those out). A meeting's "
            "opening also issues its own ballot rights and key bindings (the same number at "
            "any size). Cities are generated one after the other, not interleaved."
        ),
    )
