"""With witnesses configured, `balloting.close` and `results.approve` rest on a head the
quorum cosigned, or are refused with 503 and write nothing (both stores, over HTTP)."""

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api import create_app
from service.system import System
from tests.e2e.conftest import OPTIONS, assert_problem, runtime
from tests.support import Harness
from tests.support.http import Api, HttpCampaign
from tests.witnesses import RunningWitness, new_witness_key, spec_verify_cosignature


@pytest.fixture
def witness(harness: Harness, tmp_path: Path) -> Iterator[tuple[RunningWitness, str]]:
    """A witness for the harness's log, not started: each test decides when it runs."""
    vkey = new_witness_key(tmp_path / "w.key", "district.example/witness")
    running = RunningWitness(
        tmp_path / "w.key", [harness.init_result["log_vkey"]], tmp_path / "state", tmp_path / "log"
    )
    yield running, vkey
    running.stop()


@pytest.fixture
def witnessed_client(
    harness: Harness, witness: tuple[RunningWitness, str]
) -> Iterator[FlaskClient]:
    running, vkey = witness
    settings = replace(harness.system.settings, witnesses=((running.url, vkey),), witness_quorum=1)
    system = System.open(settings)
    app = create_app(system=system, options=OPTIONS)
    yield app.test_client()
    runtime(app).close()
    system.close()


def test_tallies_rest_on_cosigned_heads_or_are_refused(
    harness: Harness, witnessed_client: FlaskClient, witness: tuple[RunningWitness, str]
) -> None:
    running, vkey = witness
    api = Api(witnessed_client, harness)
    c = HttpCampaign(api)
    c.set_up()
    c.open()
    c.vote()
    # The witness is down: the close is refused with 503 and nothing is written.
    before = harness.size
    refused = c.post(c.organizer, "balloting.close", meeting_id=c.meeting)
    body = assert_problem(refused, 503, "witness-unavailable")
    assert "nothing was written" in body["detail"]
    assert harness.size == before
    running.start()
    closed = c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    head = closed["checkpoint"]
    recorder = harness.system.ledger.recorder
    assert list(recorder.cosignatures_at(head["tree_size"])) == [vkey]
    cosigned = harness.system.ledger.cosigned_note(recorder.checkpoint_at(head["tree_size"]))
    assert spec_verify_cosignature(cosigned, vkey) > 0
    proposal = c.send(c.organizer, "results.propose")
    running.stop()
    before = harness.size
    refused = c.post(
        c.committee, "results.approve", proposal_hash=proposal["proposal_hash"], adjustments=[]
    )
    assert_problem(refused, 503, "witness-unavailable")
    assert harness.size == before
    running.start()
    c.send(c.committee, "results.approve", proposal_hash=proposal["proposal_hash"], adjustments=[])
    # The approval's head is the latest checkpoint (no background checkpointer here), and
    # the public checkpoint endpoint serves it with the witness's cosignature.
    served = witnessed_client.get("/api/v1/ledger/checkpoint").get_data(as_text=True)
    assert spec_verify_cosignature(served, vkey) > 0
