"""The least a teller's batch costs on this stack, measured on W2's own batches and store.

Why: W2's target asks the batch endpoint for 40 % of the single-core Ed25519 rate,
i.e. at most 2.5 signature verifications' worth of time per ballot for everything.
This measures, in-process and without HTTP, the work no event-sourced write of
individually signed, individually ledgered ballots can skip: parse the posted batch,
parse and verify each envelope, turn each ballot into one event of its own (carrying
its envelope, as the audit needs) and append the batch to the ledger in one
transaction. It leaves out every check (keys, rights, meetings, rules, replays), the
command records and HTTP, so its rate is an upper bound on W2's.
"""

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.w1_floor import unchecked_ballot
from domain.balloting import CastBallot
from domain.envelope import parse_envelope
from service.application import AppraisalApplication


@dataclass(frozen=True)
class Floor:
    ballots: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.ballots / self.seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "ballots": self.ballots,
            "wall_s": round(self.seconds, 3),
            "floor_ballots_per_s": round(self.rate, 1),
        }


def measure(app: AppraisalApplication, bodies: Sequence[bytes], public_key: bytes) -> Floor:
    """Every batch in turn, as one teller sends them; ids are fresh, so the batches W2
    already stored do not collide."""
    ballots = 0
    start = time.perf_counter()
    for body in bodies:
        ballots += len(app.record(*_ballots(json.loads(body)["envelopes"], public_key)))
    return Floor(ballots, time.perf_counter() - start)


def _ballots(raw_envelopes: list[dict[str, Any]], public_key: bytes) -> list[CastBallot]:
    ballots = []
    for raw in raw_envelopes:
        envelope = parse_envelope(raw)
        envelope.verify(public_key)
        ballots.append(unchecked_ballot(envelope, right=envelope.command["paper_serial"]))
    return ballots
