"""W3 and W8: the offline `appraisal audit verify` of the city's bundle — its speed (W3)
and its peak memory (W8), from the same runs.

Method, and why:
- The city (bench/city.py) is exported once with `service.audit.export_bundle`, the
  code behind `appraisal audit export`, after its campaign is finalised.
- The real CLI verifies it in a process of its own with no store settings, as an
  auditor runs it on a laptop; the harness waits for it with `wait4`, which gives that
  process's own peak resident set (W8) and CPU time. Startup and imports are included:
  the auditor waits for them too.
- W3's rate is the report's `envelopes_verified` over the wall time of the whole
  verification; its limit is P3's Ed25519 verifications per second on all cores,
  measured in the same run. The per-core ratio is shown beside it, because the CLI is
  one process: it can reach the all-core limit only by verifying in parallel.
"""

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import city, p3_limits, progress, w3_floor
from bench.results import Target, WorkloadResult
from service.audit import export_bundle
from service.system import System

ROUNDS = 3
# Issue 18's targets: the rate against a bare Ed25519 verification of the same count on
# all cores, the wall time per entry flat in the log's size, and every core busy.
RATIO_TARGET = 0.40
PER_ENTRY_TARGET = 1.1  # the largest city's wall time per entry against the base city's
CORES_TARGET = 1.8
MEMORY_TARGET_MIB = 512
GROWTH_TARGET = 1.15  # W8: the largest city's peak against the base city's
GROWTH_BASE = {"reduced": 40, "full": 160}
MIB = 2**20


@dataclass(frozen=True)
class Verification:
    """Every verification run of one size's bundle, and what they are compared with."""

    city: city.City
    bundle_bytes: int
    export_seconds: float
    runs: list[city.CliRun]
    report: dict[str, Any]
    limits: p3_limits.Limits
    floor: w3_floor.Floor

    @property
    def seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def envelopes(self) -> int:
        return int(self.report["envelopes_verified"])

    @property
    def rate(self) -> float:
        return self.envelopes / self.seconds

    @property
    def seconds_per_entry(self) -> float:
        return self.seconds / int(self.report["entries"])

    @property
    def cores_busy(self) -> float:
        """CPU of the verifier and its helper (wait4 counts the helper it waited for) over
        wall time, median of the runs."""
        return statistics.median(run.cpu_seconds / run.seconds for run in self.runs)

    @property
    def peak_mib(self) -> float:
        return max(run.peak_rss_bytes for run in self.runs) / MIB

    def to_json(self) -> dict[str, Any]:
        return {
            "city": self.city.to_json(),
            "bundle_bytes": self.bundle_bytes,
            "export_s": round(self.export_seconds, 2),
            "entries": self.report["entries"],
            "envelopes_verified": self.envelopes,
            "ballots_counted": self.report["ballots_counted"],
            "wall_s": [round(run.seconds, 2) for run in self.runs],
            "cpu_s": [round(run.cpu_seconds, 2) for run in self.runs],
            "peak_rss_mib": [round(run.peak_rss_bytes / MIB, 1) for run in self.runs],
            "median_wall_s": round(self.seconds, 2),
            "signatures_per_s": round(self.rate),
            "floor": self.floor.to_json(),
        }


_verifications: dict[int, Verification] = {}


def verification(communities: int, workdir: Path) -> Verification:
    """Export and verify once per run and city; W3 and W8 read the same runs."""
    if communities not in _verifications:
        _verifications[communities] = _verify(communities, workdir)
    return _verifications[communities]


def _verify(communities: int, workdir: Path) -> Verification:
    shared = city.of(communities)
    bundle = shared.settings.data_dir.parent / "city.bundle.jsonl"
    system = System.open(shared.settings)
    try:
        start = time.perf_counter()
        exported = export_bundle(system, bundle, shared.campaign_id)
        export_seconds = time.perf_counter() - start
    finally:
        system.close()
    limits = p3_limits.limits()
    runs = []
    with progress.task(f"W3: audit verify of {exported.tree_size:,} entries", ROUNDS) as advance:
        for _ in range(ROUNDS):
            runs.append(
                shared.cli(
                    workdir,
                    "audit",
                    "verify",
                    str(bundle),
                    "--log-key",
                    shared.log_public_key,
                    "--json",
                    store=False,
                )
            )
            advance(1)
    report = runs[-1].json()
    if not report["ok"]:
        raise RuntimeError(f"the city's bundle does not verify: {report['first_bad']}")
    floor = w3_floor.measure(bundle, limits.processes)
    if floor.signatures != int(report["envelopes_verified"]):
        raise RuntimeError(
            f"the floor verified {floor.signatures} signatures, the audit "
            f"{report['envelopes_verified']}"
        )
    return Verification(shared, exported.size_bytes, export_seconds, runs, report, limits, floor)


def run(size: str, workdir: Path) -> WorkloadResult:
    v = verification(city.SIZES[size], workdir)
    base, largest = (verification(n, workdir) for n in (GROWTH_BASE[size], max(city.SCALES[size])))
    per_entry = largest.seconds_per_entry / base.seconds_per_entry
    all_cores = v.rate / v.limits.ed25519_all_cores
    one_core = v.rate / v.limits.ed25519_one_core
    floor = v.floor.rate / v.limits.ed25519_all_cores
    return WorkloadResult(
        name="W3",
        description=(
            f"`appraisal audit verify` of the city bundle ({v.city.communities} communities, "
            f"{v.report['entries']:,} entries, {v.envelopes:,} signatures, "
            f"{v.bundle_bytes / MIB:.0f} MiB) in its own process: {v.seconds:.1f} s median of "
            f"{ROUNDS}, {v.rate:,.0f} signatures/s vs P3's {v.limits.ed25519_all_cores:,.0f}/s "
            f"on {v.limits.processes} cores ({all_cores:.2f}) and "
            f"{v.limits.ed25519_one_core:,.0f}/s on one ({one_core:.2f}); export took "
            f"{v.export_seconds:.1f} s"
        ),
        measurements=v.to_json(),
        peers={"p3": v.limits.to_json()},
        ratios={
            "vs_all_cores": round(all_cores, 3),
            "vs_one_core": round(one_core, 3),
            "floor_vs_all_cores": round(floor, 3),
            f"per_entry_{largest.city.communities}_vs_{base.city.communities}": round(per_entry, 3),
            "cores_busy": round(v.cores_busy, 2),
        },
        targets=[
            Target(
                name=(
                    f"audit verify: signatures/s vs the Ed25519 limit on {v.limits.processes} cores"
                ),
                measured=round(all_cores, 3),
                threshold=RATIO_TARGET,
                summary=(
                    f"verify: {v.rate:,.0f}/s · limit: {v.limits.ed25519_all_cores:,.0f}/s "
                    f"({v.limits.ed25519_one_core:,.0f}/s per core)"
                ),
            ),
            Target.scaling(
                "audit verify: wall time per entry",
                largest.city.communities,
                base.city.communities,
                per_entry,
                PER_ENTRY_TARGET,
                f"{largest.seconds_per_entry * 1e6:,.0f} µs vs "
                f"{base.seconds_per_entry * 1e6:,.0f} µs per entry",
            ),
            Target(
                name=f"audit verify: cores busy on average ({v.city.communities} communities)",
                measured=round(v.cores_busy, 2),
                threshold=CORES_TARGET,
                summary=f"{statistics.median(r.cpu_seconds for r in v.runs):.1f} s CPU over "
                f"{v.seconds:.1f} s wall",
            ),
        ],
        limits=(
            "Wall time includes interpreter start-up and imports. Besides each signature "
            "the verifier rebuilds the tree (reading the bundle's leaf hashes only when "
            "something fails), replays every aggregate with every check and re-derives the "
            "grades; the replay is one sequential pass (the main process), while a helper "
            "process verifies the signatures beside it, so its rate counts all of that "
            "against the signatures alone, and the helper is idle most of the time. "
            "The floor (bench/w3_floor.py: only decoding, hashing, replaying and "
            f"verifying, {v.floor.wall_seconds:.2f} s if split perfectly over "
            f"{v.floor.cores} cores) reaches {floor:.2f} × the limit: "
            f"{_floor_verdict(floor)}. " + _size_note(size)
        ),
    )


def run_memory(size: str, workdir: Path) -> WorkloadResult:
    """Every city of `city.SCALES`: each must stay under the limit, and the largest's
    peak must stay within `GROWTH_TARGET` of the base city's (`GROWTH_BASE`)."""
    runs = {n: verification(n, workdir) for n in city.SCALES[size]}
    base, largest = runs[GROWTH_BASE[size]], runs[max(runs)]
    growth = largest.peak_mib / base.peak_mib
    peaks = " · ".join(f"{n}: {v.peak_mib:,.0f} MiB" for n, v in runs.items())
    return WorkloadResult(
        name="W8",
        description=(
            f"Peak resident memory of `appraisal audit verify` of each city's bundle "
            f"(communities: peak, max over {ROUNDS} runs, from wait4's ru_maxrss): {peaks}"
        ),
        measurements={str(n): v.to_json() for n, v in runs.items()},
        peers={},
        ratios={
            f"peak_{largest.city.communities}_vs_{base.city.communities}": round(growth, 3),
            **{
                f"peak_vs_bundle_{n}": round(v.peak_mib * MIB / v.bundle_bytes, 2)
                for n, v in runs.items()
            },
        },
        targets=[
            Target.scaling(
                "audit verify: peak memory",
                largest.city.communities,
                base.city.communities,
                growth,
                GROWTH_TARGET,
                peaks,
            ),
            *(
                Target(
                    name=f"audit verify: peak resident memory at {n} communities, MiB",
                    measured=round(v.peak_mib, 1),
                    threshold=MEMORY_TARGET_MIB,
                    higher_is_better=False,
                    summary=f"{v.peak_mib:,.0f} MiB for {v.report['entries']:,} entries",
                )
                for n, v in runs.items()
            ),
        ],
        limits=(
            "The verifier keeps ballots, rights, meetings and actors as offsets into the "
            "bundle (the 4,096 most recent whole) and a version per stream, and drops a "
            "finalised campaign's streams; at a proposal it scores every counted row of the "
            "campaign: memory still grows with the largest campaign open, and the city's one "
            "campaign stays open until its last entries. wait4's ru_maxrss is the peak of "
            "the largest single process (the main replay); the forked signature helper is "
            "not added to it. " + _size_note(size)
        ),
    )


def _floor_verdict(floor: float) -> str:
    if floor < RATIO_TARGET:
        return f"no verifier on this stack can reach the target of {RATIO_TARGET}"
    return "the target is within reach of a verifier that does little beyond that"


def _size_note(size: str) -> str:
    return "" if size == "full" else "The city's 621 communities need `make bench-full`."
