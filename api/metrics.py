"""Prometheus metrics: requests, latency, command outcomes and the ledger size.

Each app gets its own registry, so building many apps in one process (tests)
never collides. Under several gunicorn workers, set PROMETHEUS_MULTIPROC_DIR:
values then go to shared files and a scrape of any worker aggregates them all.
"""

import os
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector


class LedgerSizeCollector:
    """Reads the ledger size at scrape time, so every worker reports the store's truth."""

    def __init__(self, size: Callable[[], int | None]) -> None:
        self._size = size

    def collect(self) -> Iterator[Metric]:
        size = self._size()
        if size is not None:
            yield GaugeMetricFamily(
                "appraisal_ledger_size", "Leaves in the ledger's Merkle tree", value=size
            )


class Metrics:
    def __init__(self) -> None:
        self._multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        self._registry = CollectorRegistry()
        self.requests = Counter(
            "appraisal_http_requests",
            "HTTP requests by route, method and status",
            ["endpoint", "method", "status"],
            registry=self._registry,
        )
        self.latency = Histogram(
            "appraisal_http_request_duration_seconds",
            "HTTP request latency by route and method",
            ["endpoint", "method"],
            registry=self._registry,
        )
        self.commands = Counter(
            "appraisal_commands",
            "Commands by type and outcome (accepted, replayed or the problem code)",
            ["type", "outcome"],
            registry=self._registry,
        )

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint, method).observe(seconds)

    def count_command(self, command_type: str, outcome: str) -> None:
        self.commands.labels(command_type, outcome).inc()

    def render(self, ledger_size: Callable[[], int | None]) -> tuple[bytes, str]:
        scrape = CollectorRegistry()
        if self._multiprocess_dir:
            MultiProcessCollector(scrape, path=self._multiprocess_dir)
        else:
            scrape.register(self._registry)
        scrape.register(LedgerSizeCollector(ledger_size))
        return generate_latest(scrape), CONTENT_TYPE_LATEST
