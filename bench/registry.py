"""The workloads the harness knows, by name. Adding one: write a module with
`run(size, workdir) -> WorkloadResult` and list it here."""

from collections.abc import Callable
from pathlib import Path

from bench import (
    p3_limits,
    w1_http_ballots,
    w2_teller_batches,
    w3_audit_verify,
    w4_audit_replay,
    w5_reads,
    w6_projection_lag,
    w7_ledger_growth,
    w9_campaign_commands,
    w10_catch_up,
)
from bench.results import WorkloadResult

SIZES = ("reduced", "full")

Workload = Callable[[str, Path], WorkloadResult]

WORKLOADS: dict[str, Workload] = {
    "W1": w1_http_ballots.run,
    "W2": w2_teller_batches.run,
    "W3": w3_audit_verify.run,
    "W4": w4_audit_replay.run,
    "W5": w5_reads.run,
    "W6": w6_projection_lag.run,
    "W7": w7_ledger_growth.run,
    "W8": w3_audit_verify.run_memory,
    "W9": w9_campaign_commands.run,
    "W10": w10_catch_up.run,
    "P3": p3_limits.run,
}
