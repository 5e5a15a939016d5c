"""What a workload hands back and what a run records, as plain data for JSON and docs."""

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """One pass/fail check, so the harness can fail a run without knowing the workload."""

    name: str
    measured: float
    threshold: float
    higher_is_better: bool = True
    summary: str = ""
    interval: tuple[float, float] | None = None

    @classmethod
    def scaling(
        cls, what: str, largest: int, base: int, ratio: float, threshold: float, summary: str
    ) -> "Target":
        """A ratio that must not grow with the city: `what` at `largest` communities
        against the `base` city of the same run."""
        return cls(
            name=f"{what} at {largest} communities vs {base}",
            measured=round(ratio, 3),
            threshold=threshold,
            higher_is_better=False,
            summary=summary,
        )

    @property
    def passed(self) -> bool:
        if self.higher_is_better:
            return self.measured >= self.threshold
        return self.measured <= self.threshold

    @property
    def shown(self) -> str:
        """The measured value, with its confidence interval when the workload gives one."""
        if self.interval is None:
            return f"{self.measured:.2f}"
        low, high = self.interval
        return f"{self.measured:.2f} (95% CI {low:.2f}–{high:.2f})"

    @property
    def rule(self) -> str:
        return f"{'≥' if self.higher_is_better else '≤'} {self.threshold:.2f}"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


@dataclass(frozen=True)
class WorkloadResult:
    """A workload's medians, its peer's medians, their ratios and the targets they meet.

    `limits` says what the workload does not show, so nobody reads more into it.
    """

    name: str
    description: str
    measurements: dict[str, Any]
    peers: dict[str, Any]
    ratios: dict[str, float]
    targets: list[Target]
    limits: str
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(target.passed for target in self.targets)

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "targets": [target.to_json() for target in self.targets],
            "passed": self.passed,
        }


@dataclass(frozen=True)
class RunReport:
    """One invocation of the harness: how to repeat it, where it ran, what it found."""

    size: str
    command: str
    started_at: str
    seconds: float
    machine: dict[str, str]
    results: list[WorkloadResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "command": self.command,
            "started_at": self.started_at,
            "seconds": self.seconds,
            "machine": self.machine,
            "passed": self.passed,
            "workloads": [result.to_json() for result in self.results],
        }
