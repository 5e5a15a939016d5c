"""Signing as a client does it: someone holding an Ed25519 key seals commands.

The one home of the client side that the demo, the bench and the tests' scenario
driver share: fresh ids and keys, a signer, the command skeleton (`id`,
`issued_at`) sealed with `domain.envelope.seal`, and the demo's clock. Ids and keys
come from the operating system; inside `reproducible(seed)` they come from a
generator seeded with `seed`, so a demo run or a generated city is the same every
time. Never use reproducible keys for anything real.
"""

import random
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.envelope import format_timestamp, seal
from domain.keys import encode_public_key, key_id, raw_public_key

_seeded: ContextVar[random.Random | None] = ContextVar("seeded", default=None)


@contextmanager
def reproducible(seed: int) -> Iterator[None]:
    """Within the block, `new_id` and `new_key` draw from a generator seeded with `seed`."""
    token = _seeded.set(random.Random(seed))
    try:
        yield
    finally:
        _seeded.reset(token)


def new_id() -> str:
    """A fresh UUID (version 4), as a string."""
    generator = _seeded.get()
    if generator is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=generator.getrandbits(128), version=4))


def new_key() -> Ed25519PrivateKey:
    generator = _seeded.get()
    if generator is None:
        return Ed25519PrivateKey.generate()
    return Ed25519PrivateKey.from_private_bytes(generator.randbytes(32))


@dataclass
class Signer:
    """Someone holding a private key: a registered actor, or a one-time credential
    (whose `actor_id` then names no one)."""

    name: str = ""
    key: Ed25519PrivateKey = field(default_factory=new_key)
    actor_id: str = field(default_factory=new_id)

    @property
    def public_key(self) -> str:
        return encode_public_key(raw_public_key(self.key))

    @property
    def key_id(self) -> str:
        return key_id(raw_public_key(self.key))

    def registration(self, name: str, roles: Sequence[str]) -> dict[str, Any]:
        """The fields of the admin's `actor.register` that registers this key's holder."""
        return {
            "actor_id": self.actor_id,
            "name": name,
            "roles": list(roles),
            "public_key": self.public_key,
        }

    def envelope(
        self,
        command_type: str,
        *,
        issued_at: datetime | None = None,
        command_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """The command signed by this key; a fresh id, issued now unless told otherwise."""
        command = {
            "type": command_type,
            "id": command_id or new_id(),
            "issued_at": format_timestamp(issued_at or datetime.now(UTC)),
            **fields,
        }
        return seal(command, self.key)


class DemoClock:
    """The demo's time: starts now, and can be moved on past the publication window."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now
