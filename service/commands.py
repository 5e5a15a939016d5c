"""Command handling: verify the signed envelope, authorise, run the handler, record.

Nothing is written unless every check passes; the handler's events, the command
record (the idempotency key) and their ledger leaves go in one transaction.
"""

import base64
import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.aggregate import created_at
from domain.command_record import CommandRecord
from domain.entries import Entry
from domain.envelope import Envelope, check_fresh, parse_envelope
from domain.errors import Conflict, DomainError, DuplicateCommand, MalformedCommand, UnknownKey
from domain.keys import decode_public_key
from domain.provenance import command_result, receipt_stream
from domain.registry import Actor, KeyBinding, authorize, key_binding_id
from service.application import AppraisalApplication
from service.group_commit import GroupCommit
from service.read_cache import ReadCache
from service.recorders import LeafRecord

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Signer:
    """Who signed: an actor with roles, or a one-time ballot credential."""

    key_id: str
    holder: str
    holder_id: str
    roles: frozenset[str] = frozenset()
    actor: Actor | None = None
    credential: Any = None  # the credential's ballot right, loaded once to check the signature

    @property
    def public_key(self) -> str:
        return _public_key(self.actor or self.credential, self.key_id)


@dataclass
class Context:
    envelope: Envelope
    signer: Signer
    app: AppraisalApplication
    now: datetime
    tree_head: Callable[[], dict[str, Any]]
    reads: ReadCache
    # A head the witnesses' quorum cosigned, for tallies to rest on (the plain head without
    # witnesses); raises service.witnessing.WitnessUnavailable when none can be had.
    witnessed_head: Callable[[], dict[str, Any]]

    @property
    def command(self) -> Mapping[str, Any]:
        return self.envelope.command

    def find(self, aggregate_id: UUID) -> Any | None:
        return self.reads.find(aggregate_id)

    def load_many(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Any]:
        return self.reads.load_many(aggregate_ids)

    @property
    def recorded_envelope(self) -> dict[str, Any]:
        return self.envelope.to_json()


@dataclass
class Outcome:
    """What a handler decided: the aggregates to save. The answer follows from the command
    and those aggregates (`domain.provenance.command_result`), as an auditor derives it."""

    aggregates: list[Aggregate]
    # The time to record on the command's record, when not the clock's: a credential
    # ballot's meeting opening (`Meeting.stored_time`).
    stored_time: datetime | None = None


Handler = Callable[[Context], Outcome]
ReadPlan = Callable[[Mapping[str, Any], str], Iterable[UUID]]


def _reads_nothing(command: Mapping[str, Any], signer: str) -> Iterable[UUID]:
    return ()


@dataclass(frozen=True)
class CommandSpec:
    handler: Handler
    credential_allowed: bool = False
    reads: ReadPlan = _reads_nothing  # what the handler will look up, from command and key id
    roles: frozenset[str] = frozenset()  # who may sign: `command_specs` fills it from the table


@dataclass(frozen=True)
class Accepted:
    command_id: str
    command_type: str
    position: int
    result: dict[str, Any]
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "command_id": self.command_id,
            "type": self.command_type,
            "position": self.position,
            **self.result,
        }


class CommandBus:
    def __init__(
        self,
        app: AppraisalApplication,
        specs: Mapping[str, CommandSpec],
        tree_head: Callable[[], dict[str, Any]],
        clock: Clock = lambda: datetime.now(UTC),
        witnessed_head: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.app = app
        self.specs = dict(specs)
        self.tree_head = tree_head
        self.witnessed_head = witnessed_head or tree_head
        self.clock = clock
        self.writer = GroupCommit(app)

    def handle(self, document: Any) -> Accepted:
        envelope = parse_envelope(document)
        prepared = self._prepare(envelope, self._reads_for([envelope]))
        if isinstance(prepared, Accepted):
            return prepared
        (written,) = self.writer.write([prepared.aggregates])
        if isinstance(written, IntegrityError):
            return self._after_conflict(prepared, written)
        if isinstance(written, BaseException):
            raise written
        return prepared.accepted(written)

    def handle_batch(self, documents: Sequence[Any]) -> list[Accepted | DomainError]:
        """Many commands (a teller's stack of paper ballots), each verified and recorded
        on its own — its own events, leaves and command record — but written in one
        transaction. A refused command is reported in its slot and writes nothing; one
        that touches a record an earlier command of the batch changed is refused too,
        since it was decided on the record's stored state."""
        envelopes: list[Envelope | DomainError] = []
        for document in documents:
            try:
                envelopes.append(parse_envelope(document))
            except DomainError as error:
                envelopes.append(error)
        reads = self._reads_for([e for e in envelopes if isinstance(e, Envelope)])
        answers: list[Accepted | DomainError | _Prepared] = []
        touched: set[UUID] = set()
        for envelope in envelopes:
            try:
                if isinstance(envelope, DomainError):
                    raise envelope
                prepared = self._prepare(envelope, reads)
                if isinstance(prepared, _Prepared):
                    ids = {a.id for a in prepared.aggregates}
                    if ids & touched:
                        raise Conflict("an earlier command in this batch changed the same record")
                    touched |= ids
                answers.append(prepared)
            except DomainError as error:
                answers.append(error)
        pending = [a for a in answers if isinstance(a, _Prepared)]
        written = iter(self.writer.write([p.aggregates for p in pending]))
        return [self._answer(a, next(written)) if isinstance(a, _Prepared) else a for a in answers]

    def _answer(
        self, prepared: "_Prepared", written: list[LeafRecord] | BaseException
    ) -> Accepted | DomainError:
        """A batch member's answer once written; after a conflicting concurrent change it
        is decided again on its own, on the newer state."""
        if isinstance(written, IntegrityError):
            try:
                return self.handle(prepared.envelope.to_json())
            except DomainError as error:
                return error
        if isinstance(written, BaseException):
            raise written
        return prepared.accepted(written)

    def _reads_for(self, envelopes: Sequence[Envelope]) -> ReadCache:
        """Fetch what these commands will read in two queries: the records named by the
        commands themselves, then the holders of the keys that signed them."""
        reads = ReadCache(self.app)
        named: list[UUID] = []
        for envelope in envelopes:
            named += [UUID(envelope.command_id), key_binding_id(envelope.signer)]
            spec = self.specs.get(envelope.command_type)
            if spec is not None:
                # Reading ahead is only a hint, run before any field is checked: whatever a
                # malformed command makes it raise, the handler decides and names the fault.
                with contextlib.suppress(Exception):
                    named += spec.reads(envelope.command, envelope.signer)
        reads.prefetch(named)
        bindings = (reads.find(key_binding_id(envelope.signer)) for envelope in envelopes)
        reads.prefetch(UUID(b.holder_id) for b in bindings if isinstance(b, KeyBinding))
        return reads

    def _prepare(self, envelope: Envelope, reads: ReadCache) -> "Accepted | _Prepared":
        """Every check and the handler's decision, with nothing written yet."""
        spec = self.specs.get(envelope.command_type)
        if spec is None:
            raise MalformedCommand(f"unknown command type {envelope.command_type!r}")
        replay = self._replayed(envelope, reads.find)
        if replay is not None:
            return replay
        now = self.clock()
        signer = self._signer(envelope, reads)
        if signer.holder == "actor":
            # A credential ballot signs its meeting's opening instead (Meeting.check_signed_time).
            check_fresh(envelope, now, timedelta(seconds=self.app.settings.replay_window_seconds))
            authorize(signer.roles, spec.roles, envelope.command_type)
        elif not spec.credential_allowed:
            raise UnknownKey(f"key {signer.key_id} is a ballot credential, not an actor's key")
        context = Context(
            envelope, signer, self.app, now, self.tree_head, reads, self.witnessed_head
        )
        outcome = spec.handler(context)
        written = {aggregate.id: aggregate for aggregate in outcome.aggregates}
        record = created_at(
            CommandRecord,
            CommandRecord.Accepted,
            outcome.stored_time,
            id=UUID(envelope.command_id),
            command_type=envelope.command_type,
            signer=envelope.signer,
            digest=envelope.digest(),
            result=command_result(envelope.command, written.get),
            receipt_for=receipt_stream(envelope.command),
        )
        return _Prepared(envelope, record, [*outcome.aggregates, record], signer.public_key)

    def _after_conflict(self, prepared: "_Prepared", exc: IntegrityError) -> Accepted:
        replay = self._replayed(prepared.envelope, self.app.find)
        if replay is not None:
            return replay
        raise Conflict(
            "the command conflicts with a concurrent change; nothing was written"
        ) from exc

    def _replayed(self, envelope: Envelope, find: Callable[[UUID], Any | None]) -> Accepted | None:
        """The original answer to a command id seen before, or 409 if the envelope differs."""
        record = find(UUID(envelope.command_id))
        if record is None:
            return None
        if not isinstance(record, CommandRecord) or record.digest != envelope.digest():
            raise DuplicateCommand(
                f"command id {envelope.command_id} was already used for a different command"
            )
        position = self.app.ledger.position_of(record.id, 1)
        result = dict(record.result)
        if record.receipt_for is not None:
            ledger = self.app.ledger
            index = ledger.position_of(UUID(record.receipt_for), 1)
            [row] = ledger.ledger_entries(index, index + 1)
            entry = Entry(row["stream"], row["version"], row["topic"], row["state"])
            leaves = [LeafRecord(index, bytes(row["leaf_hash"]), entry)]
            signer = self._signer_of(envelope, find)
            result["receipt"] = _receipt(leaves, UUID(record.receipt_for), signer)
        return Accepted(str(record.id), record.command_type, position, result, True)

    def _signer_of(self, envelope: Envelope, find: Callable[[UUID], Any | None]) -> str:
        """The public key of an envelope's signer, already verified when it was accepted."""
        binding = find(key_binding_id(envelope.signer))
        assert isinstance(binding, KeyBinding)  # the command was accepted with this key
        return _public_key(find(UUID(binding.holder_id)), envelope.signer)

    def _signer(self, envelope: Envelope, reads: ReadCache) -> Signer:
        binding = reads.find(key_binding_id(envelope.signer))
        if not isinstance(binding, KeyBinding):
            raise UnknownKey(f"unknown key {envelope.signer}")
        if binding.holder == "actor":
            actor = reads.find(UUID(binding.holder_id))
            if not isinstance(actor, Actor):
                raise UnknownKey(f"key {envelope.signer} is bound to no actor")
            actor.verified_key(envelope.signer, envelope.verify)
            return Signer(
                envelope.signer, "actor", binding.holder_id, frozenset(actor.roles), actor
            )
        credential = reads.find(UUID(binding.holder_id))
        if credential is None:
            raise UnknownKey(f"key {envelope.signer} is bound to no ballot right")
        envelope.verify(decode_public_key(credential.public_key))
        return Signer(envelope.signer, binding.holder, binding.holder_id, credential=credential)


@dataclass
class _Prepared:
    """A command that passed every check, with the aggregates it will write."""

    envelope: Envelope
    record: CommandRecord
    aggregates: list[Aggregate]
    signer_public_key: str

    def accepted(self, leaves: list[LeafRecord]) -> Accepted:
        """The answer once written; `leaves` are this command's own, in write order."""
        result = dict(self.record.result)
        if self.record.receipt_for is not None:
            result["receipt"] = _receipt(
                leaves, UUID(self.record.receipt_for), self.signer_public_key
            )
        last = max(leaf.index for leaf in leaves)
        return Accepted(self.envelope.command_id, self.envelope.command_type, last, result)


def _public_key(holder: Any, key_id: str) -> str:
    """The public key (base64url) whose id is `key_id`: an actor's, or a credential's own."""
    if isinstance(holder, Actor):
        return holder.keys[key_id].public_key
    return holder.public_key


def _receipt(leaves: list[LeafRecord], stream: UUID, signer_public_key: str) -> dict[str, Any]:
    """Where the ballot is in the ledger and the leaf input itself (DESIGN §4), so its
    evaluator can find their own envelope inside, hash the leaf themselves, and check the
    envelope's signature with the key its signer id names (the id is the key's hash)."""
    leaf = next(leaf for leaf in leaves if leaf.stream == stream)
    return {
        "ledger_index": leaf.index,
        "leaf_hash": base64.b64encode(leaf.leaf_hash).decode(),
        "leaf": leaf.entry.to_json(),
        "signer_public_key": signer_public_key,
    }
