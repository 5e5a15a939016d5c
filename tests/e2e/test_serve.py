"""`appraisal serve`: real gunicorn workers over the real store, driven over TCP."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from domain import checkpoint, keys
from domain.canonical import b64url_decode
from domain.envelope import SESSION_PREFIX
from entrypoints.cli import main
from service.settings import Settings
from tests.support import Harness, Signer

STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def store_env(settings: Settings) -> dict[str, str]:
    return {
        "APPRAISAL_DATA_DIR": str(settings.data_dir),
        "APPRAISAL_DATABASE_URL": settings.database_url,
    }


@pytest.fixture
def server(harness: Harness, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The API served by `appraisal serve` with multiprocess metrics; yields (base URL, log)."""
    with serving(harness.system.settings, tmp_path) as served:
        yield served


@contextmanager
def serving(
    settings: Settings, tmp_path: Path, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, Path]]:
    """`appraisal serve` on the store of `settings`, on a free port, until the block ends."""
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        **store_env(settings),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        **(extra_env or {}),
    }
    command = [sys.executable, "-c", "from entrypoints.cli import main; main()", "serve"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=output, stderr=output
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if requests.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield base, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def login(base: str, signer: Signer) -> str:
    challenge = requests.post(f"{base}/api/v1/sessions/challenge", timeout=5).json()["challenge"]
    signature = keys.sign(signer.key, SESSION_PREFIX + challenge.encode())
    body = {"key_id": signer.key_id, "challenge": challenge, "signature": signature}
    response = requests.post(f"{base}/api/v1/sessions", json=body, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["token"]


def test_served_api_sessions_writes_checkpoints_metrics_and_logs(
    harness: Harness, server: tuple[str, Path]
) -> None:
    base, log = server
    for _ in range(8):  # fresh connections: the workers share out challenges and tokens
        token = login(base, harness.admin)
        actors = requests.get(
            f"{base}/api/v1/actors", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert actors.status_code == 200

    person = Signer()
    envelope = harness.admin.envelope(
        "actor.register",
        actor_id=person.actor_id,
        name="Served",
        roles=["cadre"],
        public_key=person.public_key,
    )
    accepted = requests.post(f"{base}/api/v1/commands", json=envelope, timeout=10)
    assert accepted.status_code == 201, accepted.text
    written = time.monotonic()
    log_key = b64url_decode(harness.init_result["log_public_key"])
    origin = harness.system.settings.log_origin
    while True:
        note = requests.get(f"{base}/api/v1/ledger/checkpoint", timeout=5).text
        if checkpoint.verify_checkpoint(note, origin, log_key).size > accepted.json()["position"]:
            break
        assert time.monotonic() - written < 1.0, "no checkpoint covered the write within 1 s"
        time.sleep(0.05)

    for _ in range(20):
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
    metrics = requests.get(f"{base}/metrics", timeout=5).text
    assert (
        'appraisal_http_requests_total{endpoint="/healthz",method="GET",status="200"} 20.0'
        in metrics
    )
    assert f"appraisal_ledger_size {float(harness.size)}" in metrics

    refused = requests.post(f"{base}/api/v1/commands", data="{", timeout=5)
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/unsupported-media-type")

    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    requests_logged = [line for line in lines if line.get("msg") == "request"]
    assert {"ts", "level", "request_id", "method", "path", "status", "duration_ms"} <= set(
        requests_logged[-1]
    )
    assert any(line.get("command_outcome") == "accepted" for line in requests_logged)


def test_sqlite_is_served_by_exactly_one_worker(tmp_path: Path) -> None:
    env = {
        "APPRAISAL_DATA_DIR": str(tmp_path),
        "APPRAISAL_DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
    }
    result = CliRunner().invoke(main, ["serve", "--workers", "2"], env=env)
    assert result.exit_code == 2
    assert "exactly one worker" in result.output


def test_serving_an_uninitialised_store_fails_fast(tmp_path: Path) -> None:
    env = {"APPRAISAL_DATA_DIR": str(tmp_path), "APPRAISAL_DATABASE_URL": ""}
    result = CliRunner().invoke(main, ["serve"], env=env)
    assert result.exit_code == 1
    assert "appraisal init" in result.output
