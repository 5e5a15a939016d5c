"""Many processes on one PostgreSQL store: 3 gunicorn workers take W1-like load from 8
clients for 60 s while 2 `appraisal projections run` processes follow. Afterwards every
acknowledged ballot is in the ledger exactly once, refused ones left nothing behind, the
ledger verifies, and the views count exactly the acknowledged ballots.

The load mixes in what concurrency must not break: the same envelope sent twice
(idempotency), two ballots on one credential (one right, one ballot), and forged
signatures (nothing written).
"""

import json
import os
import subprocess
import time
from collections import Counter
from pathlib import Path
from uuid import UUID

import pytest

from bench import load
from bench.w1_http_ballots import COMMANDS, Campaign, Deployment, deployed, encoded
from projections import queries
from projections.access import PRIVILEGED
from tests.conftest import postgres_schema_url

CLIENTS = 8
WORKERS = 3
PROJECTION_PROCESSES = 2
SECONDS = 60.0
PER_CLIENT_RATE = 10.0  # 80 ballots/s offered: about what the machine takes under a test run
BALLOTS = int(CLIENTS * PER_CLIENT_RATE * SECONDS)
TRICKS_EVERY = 50  # one duplicate, one double spend and one forgery per 50 ballots
CAST_TOPIC = "domain.balloting:CastBallot.Cast"
CATCH_UP_SECONDS = 30.0


def forged(envelope: dict) -> dict:
    """The same signature over a changed command."""
    command = {**envelope["command"], "rows": list(reversed(envelope["command"]["rows"]))}
    return {**envelope, "command": command}


def mixed_load(campaign: Campaign, envelopes: list[dict]) -> tuple[list[dict], list[set[str]]]:
    """The ballots with the tricks spread through them, and the ballot ids of each pair
    that spends one credential twice."""
    sent, pairs = [], []
    for n, envelope in enumerate(envelopes):
        sent.append(envelope)
        if n % TRICKS_EVERY == 0:
            key, meeting = campaign.credentials[n]
            twin = campaign.ballot(key, meeting)
            sent += [envelope, twin, forged(envelope)]
            pairs.append({envelope["command"]["ballot_id"], twin["command"]["ballot_id"]})
    return sent, pairs


def ledger_ballots(deployment: Deployment) -> dict[int, str]:
    """Ledger index → ballot id of every CastBallot creation in the whole ledger."""
    recorder = deployment.system.app.ledger
    size = recorder.ledger_size()
    found = {}
    for start in range(0, size, 5000):
        for row in recorder.ledger_entries(start, min(start + 5000, size)):
            if row["topic"] == CAST_TOPIC:
                assert row["version"] == 1
                found[row["index"]] = str(row["stream"])
    return found


@pytest.mark.slow
def test_workers_and_projections_under_load_keep_every_ballot_exactly_once(
    postgres_database: str, tmp_path: Path
) -> None:
    with deployed(tmp_path / "data", postgres_schema_url(postgres_database)) as deployment:
        campaign = Campaign(deployment).set_up()
        sent, pairs = mixed_load(campaign, campaign.credential_ballots(BALLOTS, meeting_size=300))
        projections = load.appraisal_command("projections", "run")
        port = load.free_port()
        serve = load.appraisal_command("serve", "--port", str(port), "--workers", str(WORKERS))
        with (
            load.server(serve, port, "/readyz", tmp_path / "server.log", deployment.env),
            load.background(projections, tmp_path / "projections-1.log", deployment.env),
            load.background(projections, tmp_path / "projections-2.log", deployment.env),
        ):
            run = load.post_all(
                port,
                COMMANDS,
                encoded(sent),
                clients=CLIENTS,
                max_seconds=SECONDS,
                per_client_rate=PER_CLIENT_RATE,
            )
            assert run.seconds >= SECONDS * 0.95 or len(run.replies) == len(sent)
            acknowledged: dict[str, int] = {}  # ballot id → ledger index on its receipt
            for reply in run.ok():
                answer = json.loads(reply.body)
                index = answer["receipt"]["ledger_index"]
                assert acknowledged.setdefault(answer["ballot_id"], index) == index
            answered = {reply.index for reply in run.replies}
            refused = [sent[r.index]["command"] for r in run.replies if r.status not in (200, 201)]
            accepted_commands = {json.loads(reply.body)["command_id"] for reply in run.ok()}
            assert 0 not in {reply.status for reply in run.replies}, "a request went unanswered"
            assert len(acknowledged) > BALLOTS // 4, run.summary()

            in_ledger = ledger_ballots(deployment)
            counts = Counter(in_ledger.values())
            assert counts and max(counts.values()) == 1, "a ballot is in the ledger twice"
            for ballot_id, index in acknowledged.items():
                assert in_ledger.get(index) == ballot_id
            assert set(counts) == set(acknowledged), "the ledger holds unacknowledged ballots"
            answered_ballots = {sent[n]["command"]["ballot_id"] for n in answered}
            for pair in pairs:
                if pair <= answered_ballots:
                    assert len(pair & set(acknowledged)) == 1, "a credential counted twice"
            # A refused command left neither its ballot nor its command record, unless a copy
            # of it (a duplicate, or the original of a forgery) was accepted.
            for command in refused:
                if command["ballot_id"] not in acknowledged:
                    assert deployment.system.app.find(UUID(command["ballot_id"])) is None
                if command["id"] not in accepted_commands:
                    assert deployment.system.app.find(UUID(command["id"])) is None
            ids = [envelope["command"]["id"] for envelope in sent]
            unsent = set(ids) - {ids[n] for n in answered}
            assert all(deployment.system.app.find(UUID(c)) is None for c in unsent)

            deadline = time.monotonic() + CATCH_UP_SECONDS
            while queries.projection_lag(deployment.read)["behind"] > 0:
                assert time.monotonic() < deadline, "the projections did not catch up"
                time.sleep(0.1)
            viewed = queries.ballots(deployment.read, campaign.id, roles=PRIVILEGED, limit=None)
            assert viewed["total"] == len(acknowledged)
            assert {item["ballot_id"] for item in viewed["items"]} == set(acknowledged)

        verify = load.appraisal_command("ledger", "verify")
        verified = subprocess.run(
            verify, env={**os.environ, **deployment.env}, capture_output=True, text=True
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr
