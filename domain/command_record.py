"""The record of an accepted command: the idempotency key made durable.

Its id is the client-chosen command id, so a second command with the same id
collides in the store even when two servers accept it at the same moment.
"""

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.aggregate import EventSourced


class CommandRecord(EventSourced):
    @event("Accepted")
    def __init__(
        self,
        id: UUID,
        command_type: str,
        signer: str,
        digest: str,
        result: dict[str, Any],
        receipt_for: str | None = None,
    ) -> None:
        self.command_type = command_type
        self.signer = signer
        self.digest = digest
        self.result = result
        self.receipt_for = receipt_for  # the stream whose first event the receipt proves
