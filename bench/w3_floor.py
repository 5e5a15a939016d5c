"""The least any verifier of a bundle must compute, measured on W3's own bundle.

Why: W3's target asks the whole audit to run at half the all-core Ed25519 rate, i.e.
in twice the time the signatures alone take. Whether that is reachable depends on
what else a verifier cannot skip. This measures, one stage at a time on one core,
the work no verifier of this bundle format on this stack can avoid:

- decode: parse every JSON line and its base64 state;
- tree: hash every leaf and fold the RFC 9162 root;
- replay: turn every stored event into its domain event with the library's mapper and
  apply it to its aggregate (the grades are derived from replayed aggregates);
- signatures: canonicalise each command once and verify its Ed25519 signature.

It leaves out everything that makes it an audit (the registry at each position, roles,
transitions, ballot rules, proofs, re-deriving the grades), and the floor divides the
CPU time by the number of cores, as if all four stages split perfectly. So the floor
is a lower bound on the wall time of any verifier built on this stack, and its rate an
upper bound on W3's.
"""

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain import merkle
from domain.audit import event_mapper
from domain.balloting import BallotRight
from domain.entries import Entry
from domain.envelope import parse_envelope
from domain.keys import decode_public_key
from domain.registry import Actor

Stage = TypeVar("Stage")


@dataclass(frozen=True)
class Floor:
    """CPU seconds of each unavoidable stage on one core, and the bound they give."""

    stages: dict[str, float]
    signatures: int
    cores: int

    @property
    def wall_seconds(self) -> float:
        return sum(self.stages.values()) / self.cores

    @property
    def rate(self) -> float:
        return self.signatures / self.wall_seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "cpu_s_by_stage": {name: round(s, 3) for name, s in self.stages.items()},
            "signatures": self.signatures,
            "cores": self.cores,
            "floor_wall_s": round(self.wall_seconds, 3),
            "floor_signatures_per_s": round(self.rate),
        }


def measure(bundle: Path, cores: int) -> Floor:
    stages: dict[str, float] = {}
    entries = _timed(stages, "decode", lambda: list(_entries(bundle)))
    _timed(stages, "tree", lambda: _root(entries))
    aggregates, envelopes = _timed(stages, "replay", lambda: _replay(entries))
    keys = _public_keys(aggregates.values())
    _timed(stages, "signatures", lambda: _verify(envelopes, keys))
    return Floor(stages, len(envelopes), cores)


def _timed(stages: dict[str, float], name: str, stage: Callable[[], Stage]) -> Stage:
    start = time.process_time()
    result = stage()
    stages[name] = time.process_time() - start
    return result


def _entries(bundle: Path) -> Iterator[Entry]:
    with bundle.open("rb") as lines:
        for line in lines:
            record = json.loads(line)
            if record["type"] == "entry":
                yield Entry(
                    UUID(record["stream"]),
                    record["version"],
                    record["topic"],
                    base64.b64decode(record["state"]),
                )


def _root(entries: list[Entry]) -> bytes:
    accumulator = merkle.RootAccumulator()
    for entry in entries:
        accumulator.add(merkle.leaf_hash(entry.leaf_input()))
    return accumulator.root()


def _replay(entries: list[Entry]) -> tuple[dict[UUID, Any], dict[str, dict[str, Any]]]:
    """Every aggregate, and each signed command's envelope once (a command's events all
    carry it)."""
    mapper = event_mapper()
    aggregates: dict[UUID, Any] = {}
    envelopes: dict[str, dict[str, Any]] = {}
    for entry in entries:
        event = mapper.to_domain_event(
            StoredEvent(entry.stream, entry.version, entry.topic, entry.state)
        )
        aggregates[entry.stream] = event.mutate(aggregates.get(entry.stream))
        envelope = getattr(event, "envelope", None)
        if envelope is not None:
            envelopes.setdefault(envelope["command"]["id"], envelope)
    return aggregates, envelopes


def _public_keys(aggregates: Any) -> dict[str, str]:
    """Key id to public key, for every actor key and ballot credential (not timed: the
    audit learns them while replaying)."""
    keys: dict[str, str] = {}
    for aggregate in aggregates:
        if isinstance(aggregate, Actor):
            keys.update({kid: record.public_key for kid, record in aggregate.keys.items()})
        elif isinstance(aggregate, BallotRight) and aggregate.public_key:
            keys[aggregate.holder] = aggregate.public_key
    return keys


def _verify(envelopes: dict[str, dict[str, Any]], keys: dict[str, str]) -> None:
    for raw in envelopes.values():
        envelope = parse_envelope(raw)
        envelope.verify(decode_public_key(keys[envelope.signer]))
