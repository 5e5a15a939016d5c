"""Ledger leaf inputs (DESIGN §6): what exactly each stored event commits to."""

import base64
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any
from uuid import UUID

from domain.canonical import MAX_SAFE_INTEGER, canonical_json

LEAF_PREFIX = b"appraisal-event/v1\n"


def leaf_input(stream: str, version: int, topic: str, state: str) -> bytes:
    """The leaf input from the entry's JSON fields (`state` already in base64).

    Why written out: every audit builds one per entry. Keys are in JCS order, and
    for ASCII text JSON's string escaping is JCS's (the plain one: the ensure_ascii
    one also escapes DEL); anything less ordinary goes through `canonical_json`.
    """
    if (
        type(version) is int
        and -MAX_SAFE_INTEGER <= version <= MAX_SAFE_INTEGER
        and stream.isascii()
        and topic.isascii()
        and state.isascii()
    ):
        text = "".join(
            (
                '{"state":',
                encode_basestring(state),
                ',"stream":',
                encode_basestring(stream),
                ',"topic":',
                encode_basestring(topic),
                ',"version":',
                str(version),
                "}",
            )
        )
        return LEAF_PREFIX + text.encode("ascii")
    document = {"stream": stream, "version": version, "topic": topic, "state": state}
    return LEAF_PREFIX + canonical_json(document)


@dataclass(frozen=True)
class Entry:
    """One stored event as the ledger sees it."""

    stream: UUID
    version: int
    topic: str
    state: bytes

    def leaf_input(self) -> bytes:
        return leaf_input(
            str(self.stream),
            self.version,
            self.topic,
            base64.b64encode(self.state).decode("ascii"),
        )

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
