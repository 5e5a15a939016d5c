"""The workloads the harness knows, by name. Adding one: write a module with
`run(size, workdir) -> WorkloadResult` and list it here."""

from collections.abc import Callable
from pathlib import Path

from bench import w7_ledger_growth
from bench.results import WorkloadResult

SIZES = ("reduced", "full")

Workload = Callable[[str, Path], WorkloadResult]

WORKLOADS: dict[str, Workload] = {
    "W7": w7_ledger_growth.run,
}
