"""Ledger leaf inputs (DESIGN §6): what exactly each stored event commits to."""

import base64
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.canonical import canonical_json

LEAF_PREFIX = b"appraisal-event/v1\n"


@dataclass(frozen=True)
class Entry:
    """One stored event as the ledger sees it."""

    stream: UUID
    version: int
    topic: str
    state: bytes

    def leaf_input(self) -> bytes:
        return LEAF_PREFIX + canonical_json(self.to_json())

    def to_json(self) -> dict[str, Any]:
        return {
            "stream": str(self.stream),
            "version": self.version,
            "topic": self.topic,
            "state": base64.b64encode(self.state).decode("ascii"),
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> "Entry":
        return cls(
            stream=UUID(document["stream"]),
            version=int(document["version"]),
            topic=document["topic"],
            state=base64.b64decode(document["state"], validate=True),
        )
