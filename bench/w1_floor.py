"""W1's floor: the least a signed, ledgered ballot costs over HTTP on this stack.

Why: W1's target asks the audited write for 0.7 × a bare INSERT's rate (P2). Whether
that is reachable depends on what no audited write can skip. This endpoint does only
that, served exactly as P2 and W1 are: plain Flask (as P2), parse the envelope,
canonicalise and verify its Ed25519 signature against the credential's key, make
one event for the ballot carrying its envelope with the event-sourcing library, and
append it, with its leaf and Merkle nodes, through W1's own group commit. It skips
every check (replays, key bindings, rights, meetings, rules), the right's spend,
the command record, the schema layer and the request log, so its rate is an upper
bound on W1's. The credentials' keys are read from the store once per worker, at
start-up.
"""

import os
import uuid
from typing import Any
from uuid import UUID

from flask import Flask, request

from bench import load
from domain.balloting import BallotRight, CastBallot
from domain.envelope import Envelope, parse_envelope
from domain.errors import DomainError
from domain.keys import decode_public_key
from service.application import AppraisalApplication
from service.group_commit import GroupCommit
from service.settings import Settings

APP = "bench.w1_floor:create_app()"
CAMPAIGN_ENV = "BENCH_FLOOR_CAMPAIGN"


def environment(store: dict[str, str], campaign_id: str) -> dict[str, str]:
    """What the served app reads from its environment: W1's store and campaign."""
    return {**store, CAMPAIGN_ENV: campaign_id}


class Floor:
    """One worker's store, writer and credential keys."""

    def __init__(self) -> None:
        self.app = AppraisalApplication(Settings.from_env())
        self.commit = GroupCommit(self.app)
        campaign = self.app.find(UUID(os.environ[CAMPAIGN_ENV]))
        meetings = self.app.load_many(UUID(m) for m in campaign.meetings)
        rights = self.app.load_many(UUID(r) for m in meetings.values() for r in m.rights)
        self.keys = {
            right.holder: decode_public_key(right.public_key)
            for right in rights.values()
            if isinstance(right, BallotRight) and right.public_key
        }

    def record(self, document: Any) -> int:
        envelope = parse_envelope(document)
        envelope.verify(self.keys[envelope.signer])
        [written] = self.commit.write([[unchecked_ballot(envelope, right=envelope.signer)]])
        if isinstance(written, BaseException):
            raise written
        return written[0].index


def unchecked_ballot(envelope: Envelope, right: str) -> CastBallot:
    """The one event a ballot leaves, with its envelope, under a fresh id (the floors
    write beside the workloads' own ballots)."""
    command = envelope.command
    return CastBallot(
        id=uuid.uuid4(),
        campaign_id=command["campaign_id"],
        meeting_id=command["meeting_id"],
        group=command["group"],
        rows=command["rows"],
        right=right,
        valid=True,
        reason=None,
        envelope=envelope.to_json(),
    )


def create_app() -> Flask:
    """The app; its store opens lazily in the worker that serves (nothing crosses a fork)."""
    app = Flask("w1_floor")
    floor = load.in_each_worker(Floor)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "keys": len(floor().keys)}

    @app.post("/ballots")
    def insert() -> tuple[dict[str, Any], int]:
        try:
            index = floor().record(request.get_json())
        except (DomainError, KeyError) as exc:
            return {"error": str(exc)}, 400
        return {"ledger_index": index}, 201

    return app
