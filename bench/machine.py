"""Where a run happened. Ratios travel between machines; absolute rates only mean
something next to this description."""

import os
import platform
import sqlite3
from importlib.metadata import version
from pathlib import Path

from bench.stores import postgres_version


def describe() -> dict[str, str]:
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": _cpuinfo("model name") or platform.processor() or "unknown",
        "memory": _memory(),
        "os": platform.platform(),
        "load_average_start": load_average(),
        "python": platform.python_version(),
        "postgresql": postgres_version(),
        "sqlite": sqlite3.sqlite_version,
        "eventsourcing": version("eventsourcing"),
        "psycopg": version("psycopg"),
    }


def load_average() -> str:
    """1/5/15-minute load: other work on the machine pulls measured ratios toward 1."""
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def _cpuinfo(field: str) -> str | None:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == field:
            return value.strip()
    return None


def _memory() -> str:
    try:
        first = Path("/proc/meminfo").read_text().splitlines()[0]
    except (OSError, IndexError):
        return "unknown"
    kib = int(first.split()[1])
    return f"{kib / 2**20:.1f} GiB"
