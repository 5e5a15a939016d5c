"""The projection worker as a separate process on PostgreSQL: killed with SIGKILL in
the middle of the stream and restarted, it leaves views identical to a clean
rebuild, with nothing applied twice."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import projections
from projections import queries
from service.settings import Settings
from tests.support import Harness, Signer
from tests.support.scenario import CityCampaign

EXTRA_RESIDENTS = 150
RUN = [sys.executable, "-c", "from entrypoints.cli import main; main()", "projections", "run"]


@pytest.fixture
def worker(store_settings: Settings) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Starts `appraisal projections run` processes; kills any left running at the end."""
    env = {
        **os.environ,
        "APPRAISAL_DATA_DIR": str(store_settings.data_dir),
        "APPRAISAL_DATABASE_URL": store_settings.database_url,
    }
    # Three events per transaction, so the stream takes long enough to be cut in two.
    command = [*RUN, "--batch-size", "3", "--poll-interval", "0.05"]
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "the worker made no progress"
        time.sleep(0.005)


def busy_campaign(harness: Harness) -> CityCampaign:
    """A campaign with a crowd of resident representatives: hundreds of ballot events."""
    c = CityCampaign(harness)
    c.residents = [Signer() for _ in range(8 + EXTRA_RESIDENTS)]
    c.set_up()
    c.open()
    c.vote()
    for n, key in enumerate(c.residents[8:]):
        # Every fifth ballot marks two of four people excellent: recorded, but invalid.
        picks = ("excellent", "excellent") if n % 5 == 0 else ("excellent", "competent")
        c.cast(key, "resident_rep", c.choices(*picks, "competent", "competent"))
    proposal = c.close_and_propose()
    c.send(c.committee, "results.approve", proposal_hash=proposal["proposal_hash"], adjustments=[])
    return c


@pytest.mark.parametrize("store_settings", ["postgres"], indirect=True)
def test_sigkilled_worker_resumes_exactly_once(
    harness: Harness, worker: Callable[[], subprocess.Popen[bytes]]
) -> None:
    c = busy_campaign(harness)
    read, head = harness.read, harness.size

    def lag() -> dict[str, Any]:
        return queries.projection_lag(read)

    assert lag()["behind"] == head  # creates the view tables before the workers start

    first = worker()
    wait_until(lambda: (lag()["ledger_index"] or 0) >= head // 2, first)
    os.kill(first.pid, signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    cut = lag()
    assert 0 < cut["behind"] < head, "the worker must be killed in the middle of the stream"

    second = worker()
    wait_until(lambda: lag()["behind"] == 0, second)
    second.send_signal(signal.SIGTERM)
    assert second.wait(10) == 0

    resumed = projections.content_hashes(read)
    projections.rebuild(read)
    assert projections.content_hashes(read) == resumed

    # The live counters are increments, so an event applied twice would show here.
    [meeting] = queries.reconciliation(read, c.id)["items"]
    for code, counts in meeting["groups"].items():
        assert counts == {k: meeting["recorded"][code][k] for k in counts}
    assert meeting["groups"]["resident_rep"]["cast"] == 8 + EXTRA_RESIDENTS
    shown = queries.results(read, c.id, roles={"inspector"})
    assert shown["status"] == "approved" and len(shown["results"]) == len(c.appraisees)
