"""`python -m bench --size reduced|full [--only W7,...]`: run workloads, record, judge.

Exits 1 when any target is missed, so `make bench` fails loudly.
"""

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from bench import machine, progress, report
from bench.registry import SIZES, WORKLOADS
from bench.results import RunReport, WorkloadResult

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    names = _selected(parser, args.only)
    console = Console()
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    start = time.perf_counter()
    machine_info = machine.describe()
    results = []
    with progress.display(console) as shown:
        overall = shown.add_task("workloads", total=len(names))
        for name in names:
            results.append(_run(name, args.size))
            shown.advance(overall)
    machine_info["load_average_end"] = machine.load_average()
    run = RunReport(
        size=args.size,
        command=_command(args.size, names if args.only else None),
        started_at=started_at,
        seconds=round(time.perf_counter() - start, 1),
        machine=machine_info,
        results=results,
    )
    report.write_json(run, args.output)
    if not args.no_docs:
        report.update_docs(args.docs, report.markdown(run))
    console.print(report.console_table(run))
    console.print(f"whole run {report.duration(run.seconds)}; results in {args.output}")
    return 0 if run.passed else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--size", choices=SIZES, default="reduced")
    parser.add_argument("--only", help="comma-separated workload names, e.g. W7")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "PERFORMANCE.md")
    parser.add_argument(
        "--no-docs", action="store_true", help="leave the generated docs section alone"
    )
    return parser


def _selected(parser: argparse.ArgumentParser, only: str | None) -> list[str]:
    if not only:
        return list(WORKLOADS)
    names = [name.strip().upper() for name in only.split(",") if name.strip()]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown or not names:
        parser.error(f"unknown workloads {unknown}; known: {', '.join(WORKLOADS)}")
    return names


def _run(name: str, size: str) -> WorkloadResult:
    """One workload in its own scratch directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as workdir:
        start = time.perf_counter()
        result = WORKLOADS[name](size, Path(workdir))
    return replace(result, seconds=round(time.perf_counter() - start, 1))


def _command(size: str, only: list[str] | None) -> str:
    """The command that repeats this run, as typed from the repository root."""
    python = Path(sys.executable)
    if python.is_relative_to(ROOT):
        python = Path(os.path.relpath(python, ROOT))
    command = f"{python} -m bench --size {size}"
    return f"{command} --only {','.join(only)}" if only else command


if __name__ == "__main__":
    raise SystemExit(main())
