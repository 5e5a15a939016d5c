"""The offline audit of a ledger bundle (DESIGN §6 "Audit bundle"), one record at a time.

Why streaming and pure: an auditor verifies years of ledger on a laptop with no
database, so the checks here read each record once, keep only the aggregates a
re-derivation needs (plus a version counter per stream and a bounded window of
recent tree roots), and share the server's own code for everything they judge:
the event mapper, the aggregates, the key registry, the role table and (passed
in) the grade derivation. The first bad record stops the audit and is named.

Checks, in stream order:

1. Tree: each entry's leaf hash and RFC 9162 inclusion proof lead to the root of
   the checkpoint, a C2SP signed note verified with the log key; the tree is
   rebuilt (RootAccumulator) and must end at that root and size. Tree heads that
   events rest on (`checkpoint` fields) must be heads of this very tree. A v3
   bundle gives the tree's leaf hashes in leaves records instead of a proof per
   entry: once those hashes are known to lead to the signed root, an entry whose
   own hash differs from the one given for its index is the bad one. With
   `check_proofs=False` neither is read: the rebuilt root proves every entry, and
   they only name the bad one when it does not match.
2. Signatures: every envelope verifies with its signer's key as the registry
   stood just before that entry (actors' keys from RegistryView, one-time
   credentials from their KeyBinding and BallotRight); the key is known and not
   revoked; the signer held a role the command type allows (or is a credential
   where allowed). Each command's events are closed by its CommandRecord, which
   must match the envelope. Only the genesis admin registration, the very first
   entry, is unsigned.
3. Transitions: topics resolve to our domain's event classes; each stream's
   versions run 1, 2, 3… with no gap; every event applies to its aggregate.
   Ballots spend a right issued to their signer; approvals sign the current
   proposal.
4. Results: at each ResultsProposed of a campaign in scope, re-deriving from the
   events before it gives the recorded proposal hash and results; each results
   record equals the campaign's published results as replayed.
5. Counted = signed: every event's payload equals what `domain.provenance` derives
   from the signed command it is written with (unsigned events that come before
   their command's first signed one wait for it), and each command record finds
   every unsigned event its command had to write.
"""

import base64
import copy
import struct
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, cast
from uuid import UUID

from eventsourcing.domain import Aggregate, CanInitAggregate
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)
from eventsourcing.utils import get_topic, resolve_topic

from domain import checkpoint, keys, merkle, provenance
from domain.aggregate import applied
from domain.anchors import AnchorBroken, Anchors
from domain.audit_bundle import (
    COSIGNED_FORMATS,
    BadRecord,
    BundleHeader,
    carries_proofs,
    parse_checkpoint_record,
    parse_cosigned_record,
    parse_entry,
    parse_leaves_record,
    parse_results_record,
    read_record,
)
from domain.audit_results import published_results, result_differences, summary_difference
from domain.balloting import CREDENTIAL, BallotRight, CastBallot, Meeting
from domain.campaign import Campaign
from domain.canonical import b64url_encode
from domain.command_record import CommandRecord
from domain.entries import Entry
from domain.envelope import Envelope, parse_envelope
from domain.errors import DomainError, RevokedKey, WrongRole
from domain.keys import decode_public_key, key_id
from domain.provenance import Occasion, Signed
from domain.registry import (
    ADMIN_ACTOR_ID,
    REGISTRY_TOPIC_PREFIX,
    Actor,
    KeyBinding,
    RegistryView,
    authorize,
    key_binding_id,
)

HEAD_WINDOW = 8192  # how far back a recorded tree head may lie behind the event resting on it
DOMAIN_PACKAGE = "domain."
# Aggregates that take no event after their creation: only their version is kept.
SINGLE_EVENT = (CommandRecord, KeyBinding)
# Aggregates that grow in number with the ballots: kept as bundle offsets (ReplayedLedger).
SPILLED = (CastBallot, BallotRight, Meeting, Actor)
RESIDENT = 4096  # spilled aggregates kept whole, the most recently used
# What a bad state may raise while being read; anything else is a bug in the verifier.
CONTENT_ERRORS = (DomainError, KeyError, TypeError, ValueError, AttributeError)


class RoleRule(Protocol):
    """Who may sign a command type: `service.commands.CommandSpec` satisfies it."""

    @property
    def roles(self) -> frozenset[str]: ...

    @property
    def credential_allowed(self) -> bool: ...


@dataclass(frozen=True)
class Rederived:
    """A campaign's grades as derived again from its events; `results` is read once,
    one appraisee at a time (a province's campaign has tens of thousands)."""

    proposal_hash: str
    results: Iterable[Mapping[str, Any]]
    ballots_counted: int


Rederive = Callable[["ReplayedLedger", Campaign], Rederived]


@dataclass(frozen=True)
class Finding:
    """The first bad record: its bundle line, its ledger index (if an entry), what is wrong."""

    line: int
    index: int | None
    problem: str
    stream: str | None = None  # the event's stream and version, when an event is named
    version: int | None = None
    field: str | None = None  # the payload field that differs from its signed command

    def __str__(self) -> str:
        if self.index is None:
            return f"line {self.line}: {self.problem}"
        return f"entry {self.index} (line {self.line}): {self.problem}"

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "index": self.index,
            "problem": self.problem,
            "stream": self.stream,
            "version": self.version,
            "field": self.field,
        }


@dataclass
class CampaignAudit:
    campaign_id: str
    status: str = ""
    proposals_rederived: int = 0
    ballots_counted: int = 0
    results_checked: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "status": self.status,
            "proposals_rederived": self.proposals_rederived,
            "ballots_counted": self.ballots_counted,
            "results_checked": self.results_checked,
        }


@dataclass(frozen=True)
class AuditReport:
    origin: str
    tree_size: int
    root: bytes | None  # the signed checkpoint's root, once the note verified
    entries: int
    envelopes: int
    campaigns: tuple[CampaignAudit, ...]
    finding: Finding | None
    anchors: dict[str, Any] | None = None  # what trust anchors established, when given

    @property
    def ok(self) -> bool:
        return self.finding is None

    @property
    def ballots_counted(self) -> int:
        return sum(c.ballots_counted for c in self.campaigns)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root": None if self.root is None else base64.b64encode(self.root).decode("ascii"),
            "entries": self.entries,
            "envelopes_verified": self.envelopes,
            "campaigns": [c.to_json() for c in self.campaigns],
            "ballots_counted": self.ballots_counted,
            "first_bad": None if self.finding is None else self.finding.to_json(),
            **({} if self.anchors is None else {"anchors": self.anchors}),
        }


def event_mapper() -> Mapper[UUID]:
    """The application's mapper, rebuilt offline: eventsourcing's JSON transcoder with the
    transcodings `Application.register_transcodings` adds, no compressor, no cipher."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


EventAt = Callable[[int, int, UUID], Any]
"""(bundle offset, ledger index, stream) -> the domain event of the entry line there."""

_EVENT = struct.Struct("<qq")  # one event of a stream: its ledger index and bundle offset


class ReplayedLedger:
    """Aggregates replayed from the bundle so far: an EventSource for the shared `derive`.

    Why spilled: a city's open campaign has some 100,000 ballots, ballot rights and
    actors, and kept whole they were most of the audit's memory. With an `event_at`,
    streams of the SPILLED classes keep only where their events are (16 bytes each);
    the most recently used are kept whole, and any other is replayed again from its
    lines when it is read. Without one, every aggregate is kept whole.
    """

    def __init__(self, event_at: EventAt | None = None, resident: int | None = None) -> None:
        self._event_at = event_at
        self._resident = RESIDENT if resident is None else resident
        self._events: dict[bytes, bytes] = {}  # stream -> its events, packed as _EVENT
        self._kept: dict[UUID, Any] = {}  # aggregates never spilled
        self._recent: OrderedDict[UUID, Any] = OrderedDict()  # spilled ones still whole

    def version(self, stream: UUID) -> int:
        """How many events the stream has taken (0: unseen or dropped)."""
        return len(self._events.get(stream.bytes, b"")) // _EVENT.size

    def get(self, aggregate_id: UUID) -> Any | None:
        """The aggregate, made the most recently used if it is spilled."""
        found = self._read(aggregate_id)
        if found is not None and aggregate_id not in self._kept:
            self._remember(found)
        return found

    def put(self, aggregate: Aggregate, position: int, offset: int | None = None) -> None:
        """The aggregate after its event at ledger `position` (bundle byte `offset`)."""
        key = aggregate.id.bytes
        self._events[key] = self._events.get(key, b"") + _EVENT.pack(position, offset or 0)
        if self._event_at is not None and offset is not None and isinstance(aggregate, SPILLED):
            self._remember(aggregate)
        else:
            self._kept[aggregate.id] = aggregate

    def drop(self, aggregate_id: UUID) -> None:
        """Forget an aggregate no later check reads (a finalised campaign's ballots)."""
        self._kept.pop(aggregate_id, None)
        self._recent.pop(aggregate_id, None)
        self._events.pop(aggregate_id.bytes, None)

    def load_many(self, aggregate_ids: Iterable[UUID]) -> Mapping[UUID, Any]:
        """The aggregates, replayed one at a time as they are read: a derivation walks
        every ballot of a campaign once and must not hold them all."""
        return _Replaying(self, [i for i in dict.fromkeys(aggregate_ids) if self._has(i)])

    def positions_of(self, streams: Iterable[UUID]) -> dict[tuple[UUID, int], int]:
        return {
            (stream, version): position
            for stream in streams
            for version, (position, _) in enumerate(
                _EVENT.iter_unpack(self._events.get(stream.bytes, b"")), start=1
            )
        }

    def _has(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self._kept or aggregate_id.bytes in self._events

    def _read(self, aggregate_id: UUID) -> Any | None:
        """The aggregate, without making it one of the recently used."""
        found = self._kept.get(aggregate_id)
        if found is None:
            found = self._recent.get(aggregate_id)
        return self._replayed(aggregate_id) if found is None else found

    def _replayed(self, aggregate_id: UUID) -> Any | None:
        events = self._events.get(aggregate_id.bytes)
        if events is None or self._event_at is None:
            return None
        return applied(
            None,
            (
                self._event_at(offset, position, aggregate_id)
                for position, offset in _EVENT.iter_unpack(events)
            ),
        )

    def _remember(self, aggregate: Any) -> None:
        self._recent[aggregate.id] = aggregate
        self._recent.move_to_end(aggregate.id)
        if len(self._recent) > self._resident:
            self._recent.popitem(last=False)


class _Replaying(Mapping[UUID, Any]):
    """ReplayedLedger.load_many's answer: each value replayed when it is read."""

    def __init__(self, ledger: ReplayedLedger, ids: list[UUID]) -> None:
        self._ledger = ledger
        self._ids = ids

    def __getitem__(self, aggregate_id: UUID) -> Any:
        found = self._ledger._read(aggregate_id)
        if found is None:
            raise KeyError(aggregate_id)
        return found

    def __iter__(self) -> Iterator[UUID]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class _Bad(Exception):
    """Raised inside the auditor; becomes the report's Finding (`at` names the event when
    it is not the record being read)."""

    def __init__(self, problem: str, at: "_Event | None" = None, field: str | None = None):
        super().__init__(problem)
        self.at = at
        self.field = field


@dataclass(frozen=True)
class _Event:
    """Where an event stands: its bundle line, ledger index, stream and version."""

    line: int
    index: int
    stream: UUID
    version: int


SignatureCheck = Callable[[int, bytes, bytes, str], bool]
"""(bundle line, public key, message, signature) -> whether the signature verifies. A checker
that verifies elsewhere answers True at once and names the first line that failed itself."""


def verify_now(line: int, public_key: bytes, message: bytes, signature: str) -> bool:
    """The SignatureCheck that verifies on the spot (`keys.verify`, as the server does)."""
    try:
        keys.verify(public_key, message, signature)
    except DomainError:
        return False
    return True


def _check_inclusion(
    leaf: bytes, index: int, proof: list[bytes], signed: checkpoint.Checkpoint
) -> None:
    try:
        merkle.verify_inclusion(leaf, index, signed.size, proof, signed.root)
    except merkle.ProofError as exc:
        raise _Bad(
            f"entry does not match the signed checkpoint ({exc}): it was altered, "
            "dropped or moved, or the checkpoint is of another tree"
        ) from None


@dataclass(frozen=True)
class _Command:
    """The signed command whose events are being read; checked once, at its first event."""

    envelope: Envelope
    digest: str
    index: int
    holder: str  # "actor" or "credential"
    holder_id: str  # the actor id, or the credential's ballot right id
    signed: Signed  # what the provenance rules read
    roles: frozenset[str] = field(default_factory=frozenset)


class Auditor:
    """Feed it a bundle's records after the header, in order; then ask for the report."""

    def __init__(
        self,
        header: BundleHeader,
        log_public_key: bytes,
        rules: Mapping[str, RoleRule],
        rederive: Rederive,
        campaigns: Collection[str] | None = None,
        *,
        check_proofs: bool = True,
        check_signature: SignatureCheck | None = None,
        anchors: Anchors | None = None,
        reread: Callable[[int], bytes] | None = None,
        leaf_hashes_root: bytes | None = None,
    ) -> None:
        """`reread(offset)` gives the bundle's line at that byte offset again: with it, the
        ballots, rights, meetings and actors are kept as offsets (ReplayedLedger) and each
        `feed` names its line's offset. `check_proofs` on a v3 bundle needs the root of
        the leaf hashes it claims (`audit_bundle.leaf_hashes_root`): they are the tree's
        own, and name the bad entry, only if that is the signed root."""
        self.header = header
        self._log_key = log_public_key
        self._rules = rules
        self._rederive = rederive
        self._scope = None if campaigns is None else frozenset(campaigns)
        self._mapper = event_mapper()
        self._check_proofs = check_proofs
        self._proofs = carries_proofs(header.format)
        self._leaf_hashes_root = leaf_hashes_root
        self._leaf_hashes_altered = False
        self._leaves: list[bytes] = []  # v3: the leaf hashes of the entries being read
        self._leaves_start = 0
        self._check_signature = check_signature or verify_now
        self._anchors = anchors or Anchors()
        self._public_keys: dict[str, bytes] = {}  # actors' keys, decoded once each
        self._line = 0
        self._tree = merkle.RootAccumulator()
        self._heads: dict[int, tuple[bytes, ...]] = {0: ()}  # tree size -> its subtrees
        self._checkpoint: checkpoint.Checkpoint | None = None
        self._entries_done = False
        self._reread = reread
        self._ledger = ReplayedLedger(None if reread is None else self._event_at)
        self._offset: int | None = None
        self._closed: set[bytes] = set()  # single-event streams, as 16 packed bytes each
        self._retired: set[bytes] = set()  # the meetings, rights and ballots of finalised campaigns
        self._registry = RegistryView()
        self._credentials: dict[str, UUID] = {}  # credential key id -> its ballot right
        self._command: _Command | None = None
        self._awaiting: list[tuple[_Event, str, Occasion]] = []  # unsigned, before their command
        self._cache: dict[Any, Any] = {}  # for the provenance rules
        self._campaigns: dict[str, CampaignAudit] = {}
        self._at: int | None = None
        self._event: _Event | None = None
        self.envelopes = 0
        self.finding: Finding | None = None

    @property
    def entries(self) -> int:
        return self._tree.size

    @property
    def checkpoint(self) -> checkpoint.Checkpoint | None:
        """The signed checkpoint, once its record verified."""
        return self._checkpoint

    def feed(self, line: int, text: str | bytes, offset: int | None = None) -> None:
        """Check one record (at byte `offset` of the bundle); the first failure is kept as
        `finding` and ends the audit."""
        if self.finding is not None:
            return
        self._at = None
        self._event = None
        self._line = line
        self._offset = offset
        try:
            record = read_record(text)
            if self._checkpoint is None:
                self._read_checkpoint(parse_checkpoint_record(record))
            elif record["type"] == "entry" and not self._entries_done:
                self._read_entry(record)
            elif record["type"] == "leaves" and not self._entries_done and not self._proofs:
                self._read_leaves(record)
            elif record["type"] == "results":
                self._end_of_entries()
                self._read_results(parse_results_record(record))
            elif record["type"] == "cosigned" and self.header.format in COSIGNED_FORMATS:
                self._end_of_entries()
                note, proof = parse_cosigned_record(record)
                self._anchors.cosigned(note, proof, self.header.origin, self._log_key)
            else:
                raise _Bad(f"unexpected {record['type']!r} record here")
        except _Bad as exc:
            self.finding = self._finding(line, str(exc), exc.at, exc.field)
        except (BadRecord, AnchorBroken) as exc:
            self.finding = Finding(line, self._at, str(exc))
        except CONTENT_ERRORS as exc:
            self.finding = self._finding(line, f"unreadable content: {exc!r}")

    def _finding(
        self, line: int, problem: str, at: _Event | None = None, field: str | None = None
    ) -> Finding:
        """A finding naming `at`, or else the event being read (if any)."""
        at = at or self._event
        if at is None:
            return Finding(line, self._at, problem)
        return Finding(at.line, at.index, problem, str(at.stream), at.version, field)

    def finish(self, line: int) -> AuditReport:
        """Checks that need the whole bundle; `line` is one past the last line read."""
        if self.finding is None:
            self._at = None
            self._event = None
            try:
                if self._checkpoint is None:
                    raise _Bad("the bundle has no checkpoint record")
                self._end_of_entries()
                self._all_results_present()
                self._anchors.check_quorum()
            except _Bad as exc:
                self.finding = self._finding(line, str(exc), exc.at)
            except AnchorBroken as exc:
                self.finding = Finding(line, self._at, str(exc))
        for cid, audit in self._campaigns.items():
            campaign = self._ledger.get(UUID(cid))
            audit.status = campaign.status if isinstance(campaign, Campaign) else ""
        return AuditReport(
            origin=self.header.origin,
            tree_size=self.header.tree_size,
            root=None if self._checkpoint is None else self._checkpoint.root,
            entries=self._tree.size,
            envelopes=self.envelopes,
            campaigns=tuple(a for cid, a in self._campaigns.items() if self._in_scope(cid)),
            finding=self.finding,
            anchors=self._anchors.summary() if self._anchors.given else None,
        )

    # --- 1. the tree ------------------------------------------------------------------------

    def _read_checkpoint(self, note: str) -> None:
        header = self.header
        try:
            signed = checkpoint.verify_checkpoint(note, header.origin, self._log_key)
        except checkpoint.CheckpointError as exc:
            hint = ""
            if header.log_public_key != b64url_encode(self._log_key):
                hint = f" (the bundle says it was exported by log key {header.log_public_key})"
            raise _Bad(f"checkpoint rejected with the given log key: {exc}{hint}") from None
        if signed.origin != header.origin:
            raise _Bad(f"checkpoint is of log {signed.origin!r}, the bundle of {header.origin!r}")
        if signed.size != header.tree_size:
            raise _Bad(
                f"checkpoint is of a tree of {signed.size} entries, the bundle holds "
                f"{header.tree_size}: a checkpoint of another tree"
            )
        self._checkpoint = signed
        self._anchors.start(note, signed, header.origin, self._log_key)
        if self._check_proofs and not self._proofs:
            self._leaf_hashes_altered = self._leaf_hashes_root != signed.root
            self._check_proofs = not self._leaf_hashes_altered

    def _read_entry(self, record: Mapping[str, Any]) -> None:
        assert self._checkpoint is not None
        size, index = self._checkpoint.size, self._tree.size
        self._at = index
        if index >= size:
            raise _Bad(f"the checkpoint covers {size} entries; this one lies beyond it")
        item = parse_entry(record, self._proofs, with_proof=self._check_proofs)
        if item.index != index:
            raise _Bad(
                f"entry {item.index} stands where entry {index} belongs: "
                "an entry is missing or out of order"
            )
        leaf = merkle.leaf_hash(item.leaf_input)
        if self._check_proofs and self._proofs:
            _check_inclusion(leaf, index, item.proof, self._checkpoint)
        elif self._check_proofs:
            self._check_leaf(leaf, index)
        self._tree.add(leaf)
        self._anchors.at_size(self._tree.size, self._tree.root)
        self._heads[self._tree.size] = self._tree.subtrees()
        self._heads.pop(self._tree.size - HEAD_WINDOW - 1, None)
        self._replay(index, item.entry)

    def _read_leaves(self, record: Mapping[str, Any]) -> None:
        """v3: the leaf hashes of the entries that follow, kept only when they name."""
        if not self._check_proofs:
            return
        self._leaves_start, self._leaves = parse_leaves_record(record)

    def _check_leaf(self, leaf: bytes, index: int) -> None:
        """v3: the entry against the leaf hash the signed tree holds at its index (the
        bundle's leaf hashes are known to lead to the signed root)."""
        given = index - self._leaves_start
        if not 0 <= given < len(self._leaves):
            raise _Bad("the bundle gives no leaf hash for this entry before it")
        if self._leaves[given] != leaf:
            raise _Bad(
                "entry does not match the signed checkpoint (the checkpoint's tree holds "
                "another leaf at this index): it was altered, dropped or moved"
            )

    def _end_of_entries(self) -> None:
        if self._entries_done:
            return
        assert self._checkpoint is not None
        if self._tree.size < self._checkpoint.size:
            self._at = self._tree.size
            raise _Bad(
                f"the bundle ends its entries after {self._tree.size}; "
                f"the checkpoint covers {self._checkpoint.size}"
            )
        if self._tree.root() != self._checkpoint.root:
            raise _Bad(
                "the tree rebuilt from the entries does not have the checkpoint's root"
                + (
                    ", nor do the bundle's leaf hashes: an entry was altered with its leaf "
                    "hash, dropped or moved, or the checkpoint is of another tree; which "
                    "entry cannot be told"
                    if self._leaf_hashes_altered
                    else ""
                )
            )
        self._anchors.end(self._tree.size)
        if self._command is not None:
            self._at = self._command.index
            raise _Bad(f"command {self._command.envelope.command_id} has no command record")
        if self._awaiting:
            at, topic, _ = self._awaiting[0]
            raise _Bad(f"{topic.rsplit(':', 1)[-1]} follows no signed command", at)
        self._entries_done = True

    def _check_head(self, index: int, head: Any) -> None:
        """A tree head an event rests on must be a head of this very tree."""
        size = head.get("tree_size") if isinstance(head, dict) else None
        if isinstance(size, bool) or not isinstance(size, int):
            raise _Bad("the event's checkpoint has no tree size")
        if size > index:
            raise _Bad(f"rests on a tree of {size} entries, more than precede it")
        subtrees = self._heads.get(size)
        if subtrees is None:
            raise _Bad(f"rests on a tree of {size} entries, too far back to check")
        if base64.b64encode(merkle.fold(subtrees)).decode("ascii") != head.get("root"):
            raise _Bad(f"rests on a tree of {size} entries whose root is not this ledger's")

    # --- 3. transitions ---------------------------------------------------------------------

    def _replay(self, index: int, entry: Entry) -> None:
        self._event = _Event(self._line, index, entry.stream, entry.version)
        self._check_topic(entry.topic)
        try:
            event = self._decoded(entry)
        except Exception as exc:
            raise _Bad(f"the state does not decode as {entry.topic}: {exc}") from None
        if entry.stream.bytes in self._retired:
            raise _Bad(f"stream {entry.stream} belongs to a finalised campaign: it takes no events")
        previous = self._version_of(entry.stream)
        if entry.version != previous + 1:
            raise _Bad(
                f"stream {entry.stream} goes from version {previous} to {entry.version}: "
                "an event is missing, repeated or out of order"
            )
        state = vars(event)
        aggregate = self._ledger.get(entry.stream)
        self._check_owner(entry, isinstance(event, CanInitAggregate), state, aggregate)
        self._check(index, entry, event, state, aggregate)
        try:
            aggregate = cast(Aggregate.Event, event).mutate(aggregate)
        except Exception as exc:
            raise _Bad(f"{entry.topic} does not apply to its aggregate: {exc!r}") from None
        if aggregate is None:
            raise _Bad(f"{entry.topic} leaves no aggregate behind")
        if isinstance(aggregate, SINGLE_EVENT):
            self._closed.add(entry.stream.bytes)
        else:
            self._ledger.put(aggregate, index, self._offset)
        self._learn(entry, event, state)
        if isinstance(event, Campaign.Finalized):
            self._retire(aggregate)

    def _version_of(self, stream: UUID) -> int:
        """The version a stream stands at (0 when unseen; 1 for a single-event stream)."""
        return 1 if stream.bytes in self._closed else self._ledger.version(stream)

    def _event_at(self, offset: int, index: int, stream: UUID) -> Any:
        """The event of the entry line at `offset`, read again (ReplayedLedger)."""
        assert self._reread is not None
        try:
            item = parse_entry(read_record(self._reread(offset)), self._proofs, with_proof=False)
        except BadRecord:
            item = None
        if item is None or item.index != index or item.entry.stream != stream:
            raise _Bad(f"the bundle changed while being read: entry {index} is not as read before")
        return self._decoded(item.entry)

    def _decoded(self, entry: Entry) -> Any:
        """The entry's domain event, by the application's own mapper."""
        stored = StoredEvent(entry.stream, entry.version, entry.topic, entry.state)
        return self._mapper.to_domain_event(stored)

    def _retire(self, campaign: Campaign) -> None:
        """Drop a finalised campaign's meetings, ballot rights and ballots, and their
        credentials: its grades are re-derived and checked, no later check reads them, and
        keeping them made the audit's memory grow with the whole log."""
        retired: list[UUID] = []
        for meeting_id in campaign.meetings:
            meeting = self._ledger.get(UUID(meeting_id))
            if meeting is None:
                continue
            retired.append(meeting.id)
            for right_id in meeting.rights:
                right = self._ledger.get(UUID(right_id))
                if not isinstance(right, BallotRight):
                    continue
                retired.append(right.id)
                if right.ballot_id:
                    retired.append(UUID(right.ballot_id))
                if right.public_key is not None:
                    self._credentials.pop(key_id(decode_public_key(right.public_key)), None)
        for stream in retired:
            self._ledger.drop(stream)
            self._retired.add(stream.bytes)

    @staticmethod
    def _check_topic(topic: str) -> None:
        """Resolve only our domain's event classes: a bundle must not make us import anything."""
        if not topic.startswith(DOMAIN_PACKAGE) or ":" not in topic:
            raise _Bad(f"topic {topic!r} is not an event of the appraisal domain")
        try:
            cls = resolve_topic(topic)
        except Exception:
            raise _Bad(f"topic {topic!r} does not resolve") from None
        if not isinstance(cls, type) or not issubclass(cls, Aggregate.Event):
            raise _Bad(f"topic {topic!r} is not an aggregate event")

    @staticmethod
    def _check_owner(entry: Entry, created: bool, state: Mapping[str, Any], aggregate: Any) -> None:
        """A creation event starts its stream; any other event continues an aggregate of its
        own class."""
        owner = entry.topic.rsplit(".", 1)[0]
        if created != (entry.version == 1):
            raise _Bad(f"{entry.topic} cannot be version {entry.version} of its stream")
        if created and state.get("originator_topic") != owner:
            raise _Bad(f"{entry.topic} creates a {state.get('originator_topic')!r}, not a {owner}")
        if not created and aggregate is None:
            raise _Bad(f"stream {entry.stream} takes no events after its creation")
        if not created and get_topic(type(aggregate)) != owner:
            raise _Bad(f"{entry.topic} cannot apply to a {type(aggregate).__name__}")

    def _check(
        self, index: int, entry: Entry, event: Any, state: Mapping[str, Any], aggregate: Any
    ) -> None:
        if "envelope" in state:
            self._check_envelope(index, event, state)
            self._check_awaiting()
        closing = isinstance(event, CommandRecord.Accepted)
        if closing:
            self._check_record(str(event.originator_id), state)
        signed = None if self._command is None else self._command.signed
        occasion = Occasion(entry.stream, aggregate, signed, self._ledger.get, state, self._cache)
        if signed is None and not closing and "envelope" not in state and index > 1:
            assert self._event is not None
            # Unsigned, before its command's first signed event (a right a ballot spends):
            # judged once that command is read. Entries 0 and 1 are the genesis.
            snapshot = replace(occasion, before=copy.copy(aggregate))
            self._awaiting.append((self._event, entry.topic, snapshot))
        else:
            self._check_provenance(self._event, entry.topic, occasion)
        if closing:
            self._command = None
        elif isinstance(event, CastBallot.Cast):
            self._check_ballot(str(event.originator_id), state)
        elif isinstance(event, Campaign.ApprovalSigned):
            self._check_approval(aggregate, state)
        elif isinstance(event, Campaign.ResultsProposed):
            self._check_proposal(aggregate, state)
        if state.get("checkpoint") is not None:
            self._check_head(index, state["checkpoint"])

    def _check_provenance(self, at: _Event | None, topic: str, occasion: Occasion) -> None:
        """Counted = signed: the payload is what the event's rule reads from its command."""
        name = topic.rsplit(":", 1)[-1]
        try:
            differs = provenance.disagreement(topic, occasion)
        except provenance.Unfounded as exc:
            raise _Bad(f"{name} does not follow from its command: {exc}", at) from None
        except CONTENT_ERRORS as exc:
            raise _Bad(f"{name} cannot be derived from its command: {exc!r}", at) from None
        if differs is not None:
            source = (
                "the genesis"
                if occasion.signed is None
                else f"signed command {occasion.signed.command['id']}"
            )
            raise _Bad(
                f"{name} disagrees with {source}: {differs.describe()}", at, field=differs.field
            )

    def _check_awaiting(self) -> None:
        """Judge the unsigned events that came before this command's first signed one."""
        if not self._awaiting or self._command is None:
            return
        awaiting, self._awaiting = self._awaiting, []
        for at, topic, occasion in awaiting:
            self._check_provenance(at, topic, replace(occasion, signed=self._command.signed))

    def _learn(self, entry: Entry, event: Any, state: Mapping[str, Any]) -> None:
        """Registry state and campaigns, once the event has applied."""
        if entry.topic.startswith(REGISTRY_TOPIC_PREFIX):
            self._registry.apply(entry.topic, str(entry.stream), state)
        elif isinstance(event, KeyBinding.Bound):
            self._bind(entry.stream, state)
        elif isinstance(event, Campaign.Created):
            self._campaigns[str(entry.stream)] = CampaignAudit(str(entry.stream))

    def _check_ballot(self, ballot_id: str, state: Mapping[str, Any]) -> None:
        """A ballot spends a right issued to whoever signed it, in its own meeting and group."""
        command = self._signing(f"ballot {ballot_id}")
        right = self._ledger.get(UUID(state["right"]))
        if not isinstance(right, BallotRight) or right.ballot_id != ballot_id:
            raise _Bad(f"ballot {ballot_id} does not spend a ballot right of its own")
        where = (state["campaign_id"], state["meeting_id"], state["group"])
        if (right.campaign_id, right.meeting_id, right.group) != where:
            raise _Bad(f"ballot {ballot_id} is cast in another meeting or group than its right")
        if not right.spendable_by(command.holder, command.holder_id, command.roles):
            raise _Bad(
                f"ballot {ballot_id} spends the {right.kind} right of {right.holder} "
                f"but is signed by key {command.envelope.signer}"
            )

    def _check_approval(self, campaign: Campaign, state: Mapping[str, Any]) -> None:
        proposal = campaign.proposal
        current = None if proposal is None else proposal["hash"]
        if state["proposal_hash"] != current:
            raise _Bad(
                f"approval signs proposal {state['proposal_hash']}, but the campaign's "
                f"current proposal is {current}"
            )
        signer = self._signing("approval").holder_id
        if signer != state["actor_id"]:
            raise _Bad(f"approval is recorded for actor {state['actor_id']} but signed by {signer}")

    # --- 2. signatures ----------------------------------------------------------------------

    def _signing(self, what: str) -> _Command:
        """The command an event belongs to; events that act for a signer must have one."""
        if self._command is None:
            raise _Bad(f"{what} carries no signed command")
        return self._command

    def _check_envelope(self, index: int, event: Any, state: Mapping[str, Any]) -> None:
        raw = state["envelope"]
        if raw is None:
            self._check_genesis(index, event, state)
            return
        try:
            envelope = parse_envelope(raw)
        except DomainError as exc:
            raise _Bad(f"malformed envelope: {exc.message}") from None
        digest = envelope.digest()
        if self._command is not None:
            if self._command.digest == digest:
                return
            raise _Bad(
                f"carries command {envelope.command_id}, but command "
                f"{self._command.envelope.command_id} (entry {self._command.index}) "
                "has no command record yet"
            )
        if self._version_of(UUID(envelope.command_id)):
            raise _Bad(f"reuses command id {envelope.command_id}, already taken earlier")
        rule = self._rules.get(envelope.command_type)
        if rule is None:
            raise _Bad(f"unknown command type {envelope.command_type!r}")
        self._command = self._signed(index, envelope, raw, digest, rule)
        self.envelopes += 1

    def _check_genesis(self, index: int, event: Any, state: Mapping[str, Any]) -> None:
        """The registry's root of trust: the admin's registration, first in the ledger."""
        if index != 0 or not (
            isinstance(event, Actor.Registered) and event.originator_id == ADMIN_ACTOR_ID
        ):
            raise _Bad("unsigned event: only the genesis admin registration carries no envelope")
        if state["key_id"] != self.header.admin_key_id:
            raise _Bad(
                f"the genesis admin key is {state['key_id']}, "
                f"the bundle header names {self.header.admin_key_id}"
            )

    def _signed(
        self, index: int, envelope: Envelope, raw: Mapping[str, Any], digest: str, rule: RoleRule
    ) -> _Command:
        """Who signed, checked against the registry as it stands before this entry."""
        signer, command_type = envelope.signer, envelope.command_type
        right_id = self._credentials.get(signer)
        if right_id is not None:
            right = self._ledger.get(right_id)
            if not isinstance(right, BallotRight) or right.public_key is None:
                raise _Bad(f"ballot credential {signer} names no credential's ballot right")
            self._verify(envelope, right.public_key, f"ballot credential {signer}", keep=False)
            if not rule.credential_allowed:
                raise _Bad(f"{command_type} is signed by ballot credential {signer}")
            signed = Signed(envelope.command, raw, digest, CREDENTIAL, str(right_id))
            return _Command(envelope, digest, index, CREDENTIAL, str(right_id), signed)
        actor_id = self._registry.actor_of_key(signer)
        if actor_id is None:
            raise _Bad(f"signed by key {signer}, unknown to the registry at this position")
        actor = self._ledger.get(UUID(actor_id))
        if not isinstance(actor, Actor):
            raise _Bad(f"key {signer} is bound to {actor_id}, which is no actor")
        self._verify(envelope, actor.keys[signer].public_key, f"key {signer}")
        try:
            roles = self._registry.roles_of_key(signer)
        except RevokedKey:
            raise _Bad(
                f"signed by key {signer} of actor {actor_id}, revoked before this position"
            ) from None
        try:
            authorize(roles, rule.roles, command_type)
        except WrongRole:
            raise _Bad(
                f"{command_type} needs one of the roles {', '.join(sorted(rule.roles))}; "
                f"actor {actor_id} held {', '.join(sorted(roles)) or 'none'} at this position"
            ) from None
        signed = Signed(envelope.command, raw, digest, "actor", actor_id)
        return _Command(envelope, digest, index, "actor", actor_id, signed, frozenset(roles))

    def _verify(self, envelope: Envelope, public_key: str, what: str, keep: bool = True) -> None:
        """`keep` the decoded key for the next envelope it signs (not a one-time
        credential's, which signs once: a province has millions)."""
        try:
            raw = self._public_keys.get(public_key) or decode_public_key(public_key)
        except DomainError:
            raise _Bad(f"envelope signature does not verify with {what}") from None
        if keep:
            self._public_keys[public_key] = raw
        message = envelope.signing_input()
        if not self._check_signature(self._line, raw, message, envelope.signature):
            raise _Bad(f"envelope signature does not verify with {what}")

    def _check_record(self, command_id: str, state: Mapping[str, Any]) -> None:
        """A command record closes the command being read, and must be its own."""
        command = self._command
        if command is None:
            raise _Bad(f"command record {command_id} follows no signed event of its command")
        envelope = command.envelope
        expected = (envelope.command_id, envelope.command_type, envelope.signer, command.digest)
        if (command_id, state["command_type"], state["signer"], state["digest"]) != expected:
            raise _Bad(
                f"command record {command_id} does not match the envelope of command "
                f"{envelope.command_id} (entry {command.index})"
            )

    def _bind(self, stream: UUID, state: Mapping[str, Any]) -> None:
        kid, holder, holder_id = state["key_id"], state["holder"], state["holder_id"]
        if stream != key_binding_id(kid):
            raise _Bad(f"the binding of key {kid} is stored under another key's id")
        if holder == "actor":
            if self._registry.actor_of_key(kid) != holder_id:
                raise _Bad(f"key {kid} is bound to actor {holder_id}, not its registered owner")
        elif holder == CREDENTIAL:
            right = self._ledger.get(UUID(holder_id))
            if not isinstance(right, BallotRight) or right.public_key is None:
                raise _Bad(f"credential {kid} is bound to {holder_id}, not a credential right")
            if key_id(decode_public_key(right.public_key)) != kid:
                raise _Bad(f"credential {kid} is bound to the right of another key")
            self._credentials[kid] = right.id
        else:
            raise _Bad(f"key {kid} is bound to an unknown kind of holder {holder!r}")

    # --- 4. results -------------------------------------------------------------------------

    def _in_scope(self, campaign_id: str) -> bool:
        return self._scope is None or campaign_id in self._scope

    def _check_proposal(self, campaign: Campaign, state: Mapping[str, Any]) -> None:
        """Re-derive from the events before this one, as the server did when proposing."""
        cid = str(campaign.id)
        if not self._in_scope(cid):
            return
        try:
            derived = self._rederive(self._ledger, campaign)
            differences = result_differences(state["results"], derived.results)
        except CONTENT_ERRORS as exc:
            raise _Bad(f"re-deriving campaign {cid}'s grades fails: {exc!r}") from None
        first = differences[0].describe("as recorded", "re-derived") if differences else "no result"
        if state["proposal_hash"] != derived.proposal_hash:
            raise _Bad(
                f"proposal hash {state['proposal_hash']} is not the re-derived "
                f"{derived.proposal_hash} (first differing result: {first})"
            )
        if differences:
            raise _Bad(f"recorded results differ from the re-derivation: {first}")
        audit = self._campaigns[cid]
        audit.proposals_rederived += 1
        audit.ballots_counted = derived.ballots_counted

    def _read_results(self, summary: Mapping[str, Any]) -> None:
        cid = summary["campaign_id"]
        campaign = self._ledger.get(UUID(cid))
        if not isinstance(campaign, Campaign):
            raise _Bad(f"results record for {cid}, which is no campaign in the ledger")
        audit = self._campaigns[cid]
        if audit.results_checked:
            raise _Bad(f"a second results record for campaign {cid}")
        problem = summary_difference(summary, published_results(campaign))
        if problem is not None:
            raise _Bad(f"published results of campaign {cid} do not match the ledger: {problem}")
        audit.results_checked = True

    def _all_results_present(self) -> None:
        for cid in sorted(self._scope or ()):
            if cid not in self._campaigns:
                raise _Bad(f"campaign {cid} is not in the ledger")
        for cid, audit in self._campaigns.items():
            if self._in_scope(cid) and not audit.results_checked:
                raise _Bad(f"the bundle has no results record for campaign {cid}")
