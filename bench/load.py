"""HTTP load generation shared by the HTTP workloads and their peers (W1, W2, W6, P1, P2).

How it keeps the numbers honest on a small machine where client and server share
the cores:
- Bodies are encoded (and signed) before the timed window: signing is the client's
  cost, not the server's.
- Clients are threads of one process, each with one persistent HTTP/1.1 connection
  (`http.client`, keep-alive). A client spends its time blocked in `recv` with the
  GIL released, so threads cost the server less CPU than extra processes would; the
  client's own CPU time is recorded so a reader can see what it took from the server.
- Responses are read as bytes and parsed only after the window.
- Every run is bounded both by count (the prepared bodies) and by time.
- Loopback only; every server is a subprocess in its own process group, always stopped.

`python -m bench.load serve MODULE:FACTORY --port P` serves a WSGI app (the peers)
with exactly the gunicorn options `appraisal serve` uses.
"""

import argparse
import http.client
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from gunicorn import util
from gunicorn.app.base import BaseApplication
from werkzeug.test import Client

from entrypoints.serve import gunicorn_options

Opened = TypeVar("Opened")

LOOPBACK = "127.0.0.1"
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
STARTUP_SECONDS = 60
STOP_SECONDS = 20
REQUEST_TIMEOUT = 60


def in_each_worker(open_it: Callable[[], Opened]) -> Callable[[], Opened]:
    """What `open_it` builds, built once, on first use, in the process that serves: a
    served peer's store or pool must never cross gunicorn's fork."""
    opened: list[Opened] = []
    lock = threading.Lock()

    def get() -> Opened:
        with lock:
            if not opened:
                opened.append(open_it())
        return opened[0]

    return get


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): an observed value, never an interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


@dataclass(frozen=True)
class Reply:
    """One request: which body, when it was sent and fully answered, and the answer."""

    index: int
    sent: float
    received: float
    status: int
    body: bytes

    @property
    def latency(self) -> float:
        return self.received - self.sent


@dataclass
class LoadRun:
    """Every reply of one timed window (perf_counter clock), with the CPU it cost the
    client and, where measured, the server's processes and the database's backends."""

    started: float
    finished: float
    replies: list[Reply] = field(default_factory=list)
    client_cpu_seconds: float = 0.0
    server_cpu_seconds: float | None = None
    database_cpu_seconds: float | None = None

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    def ok(self, statuses: Sequence[int] = (200, 201)) -> list[Reply]:
        return [reply for reply in self.replies if reply.status in statuses]

    def rate(self, statuses: Sequence[int] = (200, 201)) -> float:
        """Successful requests per second over the window."""
        return len(self.ok(statuses)) / self.seconds if self.seconds > 0 else 0.0

    def latency_ms(self, q: float, statuses: Sequence[int] = (200, 201)) -> float:
        return percentile([reply.latency for reply in self.ok(statuses)], q) * 1000

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for reply in self.replies:
            counts[reply.status] = counts.get(reply.status, 0) + 1
        return dict(sorted(counts.items()))

    def cpu_ms_per_request(self, seconds: float | None) -> float | None:
        ok = len(self.ok())
        return None if seconds is None or not ok else round(1000 * seconds / ok, 3)

    def summary(self) -> dict[str, Any]:
        return {
            "requests": len(self.replies),
            "statuses": {str(k): v for k, v in self.statuses().items()},
            "seconds": round(self.seconds, 3),
            "rate_per_s": round(self.rate(), 1),
            "p50_ms": round(self.latency_ms(50), 1),
            "p99_ms": round(self.latency_ms(99), 1),
            "client_cpu_share": round(self.client_cpu_seconds / max(self.seconds, 1e-9), 3),
            "server_cpu_ms_per_request": self.cpu_ms_per_request(self.server_cpu_seconds),
            "database_cpu_ms_per_request": self.cpu_ms_per_request(self.database_cpu_seconds),
        }


@dataclass(frozen=True)
class Served:
    """A server subprocess: its port, and its master's pid (its workers share its session)."""

    port: int
    pid: int

    def cpu_seconds(self) -> float:
        return cpu_seconds(pid for pid, session in _processes() if session == self.pid)


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time so far of the given live processes (Linux /proc)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _processes() -> Iterator[tuple[int, int]]:
    """(pid, session id) of every live process."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            yield int(entry.name), int(fields[3])


def post_all(
    port: int,
    path: str,
    bodies: Sequence[bytes],
    *,
    clients: int,
    max_seconds: float,
    per_client_rate: float | None = None,
) -> LoadRun:
    """POST `bodies` (each once, in order, shared out as clients free up) with `clients`
    concurrent connections until all are sent or `max_seconds` have passed.

    `per_client_rate` paces each client (requests/s) for a steady load of fixed
    duration instead of the fastest the server allows."""
    counter = itertools.count()
    start_gate = threading.Barrier(clients + 1)
    per_client: list[list[Reply]] = [[] for _ in range(clients)]

    def client(number: int) -> None:
        replies = per_client[number]
        connection = http.client.HTTPConnection(LOOPBACK, port, timeout=REQUEST_TIMEOUT)
        start_gate.wait()
        began = time.perf_counter()
        deadline = began + max_seconds
        try:
            for sent_count in itertools.count():
                if per_client_rate:
                    pause = began + sent_count / per_client_rate - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                index = next(counter)
                if index >= len(bodies) or time.perf_counter() >= deadline:
                    return
                replies.append(_post(connection, path, index, bodies[index]))
                if replies[-1].status == 0:
                    connection.close()
                    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=REQUEST_TIMEOUT)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = time.process_time()
    start_gate.wait()
    run = LoadRun(started=time.perf_counter(), finished=0.0)
    for thread in threads:
        thread.join()
    run.finished = time.perf_counter()
    run.client_cpu_seconds = time.process_time() - cpu_before
    run.replies = sorted((r for replies in per_client for r in replies), key=lambda r: r.sent)
    return run


def _post(connection: http.client.HTTPConnection, path: str, index: int, body: bytes) -> Reply:
    """One request; a broken connection is recorded as status 0 (no answer)."""
    sent = time.perf_counter()
    try:
        connection.request("POST", path, body, JSON_HEADERS)
        response = connection.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException) as exc:
        return Reply(index, sent, time.perf_counter(), 0, repr(exc).encode())
    return Reply(index, sent, time.perf_counter(), response.status, data)


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@contextmanager
def server(
    command: Sequence[str], port: int, ready_path: str, log: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """A server subprocess, ready (GET ready_path is 200) on entry and stopped on exit,
    even when the caller fails. Its own process group, so no worker outlives it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        process = subprocess.Popen(
            list(command),
            env={**os.environ, **env},
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    try:
        _wait_ready(process, port, ready_path, log)
        yield process
    finally:
        stop(process)


@contextmanager
def background(command: Sequence[str], log: Path, env: dict[str, str]) -> Iterator[None]:
    """A long-running helper process (a projection worker), always stopped afterwards."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        process = subprocess.Popen(
            list(command),
            env={**os.environ, **env},
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    try:
        yield
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (gunicorn and the projection worker stop gracefully), SIGKILL if it hangs."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_ready(process: subprocess.Popen[bytes], port: int, path: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {_tail(log)}")
        try:
            if get(port, path)[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready within {STARTUP_SECONDS} s: {_tail(log)}")
        time.sleep(0.1)


def _tail(log: Path, characters: int = 2000) -> str:
    return log.read_text(errors="replace")[-characters:] if log.exists() else ""


def appraisal_command(*args: str) -> list[str]:
    """The `appraisal` CLI of this interpreter, as the deployment runs it."""
    return [sys.executable, "-c", "from entrypoints.cli import main; main()", *args]


def wsgi_command(app: str, port: int, workers: int, threads: int) -> list[str]:
    """gunicorn serving `app` ("module:factory()") as `appraisal serve` would serve the API."""
    return [
        sys.executable,
        "-m",
        "bench.load",
        "serve",
        app,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]


class WsgiServer(BaseApplication):
    """gunicorn with `appraisal serve`'s options for any app, so peers are served alike."""

    def __init__(self, app: str, options: dict[str, Any]) -> None:
        self.app = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return util.import_app(self.app)


def _warm_up(worker: Any) -> None:
    """Open the peer's pool in the new worker before its first client request, as
    `appraisal serve` opens the store."""
    Client(worker.wsgi).get("/healthz")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a WSGI app with gunicorn")
    serve.add_argument("app", help='import string, e.g. "bench.p2_plain_insert:create_app()"')
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    options = gunicorn_options(LOOPBACK, args.port, args.workers, args.threads)
    options["post_worker_init"] = _warm_up
    WsgiServer(args.app, options).run()


if __name__ == "__main__":
    main()
