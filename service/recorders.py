"""Event recorders that extend every insert transaction with the ledger.

Each stored event becomes the next leaf of one RFC 9162 Merkle tree inside the
same transaction that stores it, while the library holds its insert lock (a
table lock on PostgreSQL, the single write lock on SQLite). So leaf indexes are
dense and follow the store's order, a rolled-back insert leaves no leaf, and two
writers can never fork the tree: the primary key on `leaf_index` stands behind
the lock. Only perfect-subtree nodes are stored, so appending costs amortised
O(1) writes and any proof O(log n) reads.
"""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteApplicationRecorder
from eventsourcing.utils import retry
from psycopg.errors import DataCorrupted
from psycopg.rows import dict_row, tuple_row
from psycopg.sql import SQL, Composed, Identifier

from domain import merkle
from domain.entries import Entry

LEDGER_SINK = "ledger_sink"


@dataclass(frozen=True)
class LeafRecord:
    """Where one stored event landed in the ledger, and the leaf input it committed to;
    handed back to the caller (a ballot's receipt shows both)."""

    index: int
    leaf_hash: bytes
    entry: Entry

    @property
    def stream(self) -> UUID:
        return self.entry.stream

    @property
    def version(self) -> int:
        return self.entry.version


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str


class LedgerSQL:
    """The ledger's SQL, written once with a placeholder for each driver."""

    def __init__(
        self,
        mark: str,
        leaves: str,
        nodes: str,
        checkpoints: str,
        events: str,
        event_id: str,
        cosignatures: str,
    ) -> None:
        self.mark = mark
        self.leaves = leaves
        self.nodes = nodes
        self.checkpoints = checkpoints
        self.cosignatures = cosignatures
        self.events = events
        self.event_id = event_id  # the events table's notification id column

    def _m(self, n: int) -> str:
        return ", ".join([self.mark] * n)

    @property
    def size(self) -> str:
        return f"SELECT COALESCE(MAX(leaf_index) + 1, 0) AS size FROM {self.leaves}"

    @property
    def insert_leaf(self) -> str:
        return f"INSERT INTO {self.leaves} (leaf_index, notification_id) VALUES ({self._m(2)})"

    @property
    def insert_node(self) -> str:
        return f"INSERT INTO {self.nodes} (level, node_index, hash) VALUES ({self._m(3)})"

    def select_nodes(self, count: int) -> str:
        pairs = " OR ".join([f"(level = {self.mark} AND node_index = {self.mark})"] * count)
        return f"SELECT level, node_index, hash FROM {self.nodes} WHERE {pairs}"

    @property
    def select_entries(self) -> str:
        return (
            f"SELECT l.leaf_index, l.notification_id, e.originator_id AS stream, "
            f"e.originator_version AS version, e.topic, e.state, n.hash AS leaf_hash "
            f"FROM {self.leaves} l "
            f"LEFT JOIN {self.events} e ON e.{self.event_id} = l.notification_id "
            f"LEFT JOIN {self.nodes} n ON n.level = 0 AND n.node_index = l.leaf_index "
            f"WHERE l.leaf_index >= {self.mark} AND l.leaf_index < {self.mark} "
            f"ORDER BY l.leaf_index"
        )

    @property
    def select_unledgered(self) -> str:
        return (
            f"SELECT e.originator_id AS stream, e.originator_version AS version "
            f"FROM {self.events} e LEFT JOIN {self.leaves} l "
            f"ON l.notification_id = e.{self.event_id} "
            f"WHERE l.leaf_index IS NULL LIMIT 1"
        )

    def select_streams(self, count: int) -> str:
        return (
            f"SELECT originator_id, originator_version, topic, state FROM {self.events} "
            f"WHERE originator_id IN ({self._m(count)}) "
            f"ORDER BY originator_id, originator_version"
        )

    def select_positions(self, count: int) -> str:
        return (
            f"SELECT e.originator_id, e.originator_version, l.leaf_index "
            f"FROM {self.events} e JOIN {self.leaves} l ON l.notification_id = e.{self.event_id} "
            f"WHERE e.originator_id IN ({self._m(count)})"
        )

    @property
    def select_position(self) -> str:
        return (
            f"SELECT l.leaf_index FROM {self.events} e "
            f"JOIN {self.leaves} l ON l.notification_id = e.{self.event_id} "
            f"WHERE e.originator_id = {self.mark} AND e.originator_version = {self.mark}"
        )

    @property
    def select_level_nodes(self) -> str:
        return (
            f"SELECT node_index, hash FROM {self.nodes} WHERE level = {self.mark} "
            f"AND node_index >= {self.mark} AND node_index < {self.mark} ORDER BY node_index"
        )

    @property
    def insert_checkpoint(self) -> str:
        return (
            f"INSERT INTO {self.checkpoints} (tree_size, root, note) VALUES ({self._m(3)}) "
            f"ON CONFLICT (tree_size) DO NOTHING"
        )

    @property
    def latest_checkpoint(self) -> str:
        return (
            f"SELECT tree_size, root, note FROM {self.checkpoints} ORDER BY tree_size DESC LIMIT 1"
        )

    @property
    def checkpoint_at(self) -> str:
        return f"SELECT tree_size, root, note FROM {self.checkpoints} WHERE tree_size = {self.mark}"

    @property
    def all_checkpoints(self) -> str:
        return f"SELECT tree_size, root, note FROM {self.checkpoints} ORDER BY tree_size"

    @property
    def insert_cosignature(self) -> str:
        return (
            f"INSERT INTO {self.cosignatures} (tree_size, witness, line) VALUES ({self._m(3)}) "
            f"ON CONFLICT (tree_size, witness) DO NOTHING"
        )

    @property
    def cosignatures_at(self) -> str:
        return (
            f"SELECT witness, line FROM {self.cosignatures} WHERE tree_size = {self.mark} "
            f"ORDER BY witness"
        )

    @property
    def latest_cosigned_checkpoint(self) -> str:
        return (
            f"SELECT tree_size, root, note FROM {self.checkpoints} WHERE tree_size = "
            f"(SELECT MAX(tree_size) FROM {self.cosignatures} WHERE tree_size <= {self.mark})"
        )

    @property
    def latest_cosigned(self) -> str:
        return (
            f"SELECT COALESCE(MAX(tree_size), 0) AS tree_size FROM {self.cosignatures} "
            f"WHERE witness = {self.mark}"
        )


class LedgerRecorder:
    """Ledger reads and writes shared by both stores; drivers supply a cursor."""

    sql: LedgerSQL
    datastore: Any  # the store's connection (SQLite file or PostgreSQL pool), the library's
    channel_name: str  # PostgreSQL's NOTIFY channel for new events (SQLite has none)

    def _stream_param(self, stream: UUID) -> Any:
        return stream

    def _stream_value(self, value: Any) -> UUID:
        return value if isinstance(value, UUID) else UUID(value)

    @contextmanager
    def _reading(self, positional: bool = False) -> Iterator[Any]:
        """A cursor for reads; `positional` rows (plain tuples) skip building a name map
        per query where a hot path reads fixed columns."""
        raise NotImplementedError

    @contextmanager
    def _writing(self) -> Iterator[Any]:
        raise NotImplementedError

    def _fetch_nodes(self, curs: Any, ids: Iterable[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
        ids = sorted(set(ids))
        if not ids:
            return {}
        params = [value for node in ids for value in node]
        curs.execute(self.sql.select_nodes(len(ids)), params)
        found = {(row["level"], row["node_index"]): bytes(row["hash"]) for row in curs.fetchall()}
        missing = [node for node in ids if node not in found]
        if missing:
            raise LedgerCorrupt(f"ledger node {missing[0]} is missing", position=missing[0][1])
        return found

    def ledger_size(self) -> int:
        with self._reading() as curs:
            curs.execute(self.sql.size)
            return int(curs.fetchone()["size"])

    def ledger_nodes(self, ids: Iterable[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
        with self._reading() as curs:
            return self._fetch_nodes(curs, ids)

    def ledger_entries(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Leaves in [start, stop) with their events; an event may be missing (tampering)."""
        with self._reading() as curs:
            curs.execute(self.sql.select_entries, (start, stop))
            rows = curs.fetchall()
        return [
            {
                "index": row["leaf_index"],
                "notification_id": row["notification_id"],
                "stream": None if row["stream"] is None else self._stream_value(row["stream"]),
                "version": row["version"],
                "topic": row["topic"],
                "state": None if row["state"] is None else bytes(row["state"]),
                "leaf_hash": None if row["leaf_hash"] is None else bytes(row["leaf_hash"]),
            }
            for row in rows
        ]

    def events_of(self, streams: Iterable[UUID]) -> list[StoredEvent]:
        """Every event of many aggregates in a few queries, instead of one query each."""
        found: list[StoredEvent] = []
        streams = list(dict.fromkeys(streams))
        with self._reading(positional=True) as curs:
            for chunk in _chunks(streams):
                curs.execute(
                    self.sql.select_streams(len(chunk)), [self._stream_param(s) for s in chunk]
                )
                found.extend(
                    StoredEvent(self._stream_value(stream), version, topic, bytes(state))
                    for stream, version, topic, state in curs.fetchall()
                )
        return found

    def positions_of(self, streams: Iterable[UUID]) -> dict[tuple[UUID, int], int]:
        """Ledger index of every event of the given aggregates."""
        positions: dict[tuple[UUID, int], int] = {}
        streams = list(dict.fromkeys(streams))
        with self._reading() as curs:
            for chunk in _chunks(streams):
                curs.execute(
                    self.sql.select_positions(len(chunk)), [self._stream_param(s) for s in chunk]
                )
                for row in curs.fetchall():
                    key = (self._stream_value(row["originator_id"]), row["originator_version"])
                    positions[key] = int(row["leaf_index"])
        return positions

    def position_of(self, stream: UUID, version: int) -> int:
        with self._reading() as curs:
            curs.execute(self.sql.select_position, (self._stream_param(stream), version))
            row = curs.fetchone()
        if row is None:
            raise LedgerCorrupt(f"event {stream}@{version} has no ledger leaf", position=-1)
        return int(row["leaf_index"])

    def level_nodes(self, level: int, start: int, stop: int) -> dict[int, bytes]:
        with self._reading() as curs:
            curs.execute(self.sql.select_level_nodes, (level, start, stop))
            return {row["node_index"]: bytes(row["hash"]) for row in curs.fetchall()}

    def unledgered_event(self) -> tuple[UUID, int] | None:
        """An event with no leaf, if any: a sign that leaves were deleted."""
        with self._reading() as curs:
            curs.execute(self.sql.select_unledgered)
            row = curs.fetchone()
        return None if row is None else (self._stream_value(row["stream"]), row["version"])

    def store_checkpoint(self, size: int, root: bytes, note: str) -> None:
        with self._writing() as curs:
            curs.execute(self.sql.insert_checkpoint, (size, root, note))

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return self._one_checkpoint(self.sql.latest_checkpoint, ())

    def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        return self._one_checkpoint(self.sql.checkpoint_at, (size,))

    def _one_checkpoint(self, query: str, params: tuple[Any, ...]) -> StoredCheckpoint | None:
        with self._reading() as curs:
            curs.execute(query, params)
            row = curs.fetchone()
        return None if row is None else _checkpoint(row)

    def checkpoints(self) -> list[StoredCheckpoint]:
        with self._reading() as curs:
            curs.execute(self.sql.all_checkpoints)
            return [_checkpoint(row) for row in curs.fetchall()]

    def store_cosignature(self, size: int, witness: str, line: str) -> None:
        """Keep a witness's cosignature line on the checkpoint of `size` (the first one kept)."""
        with self._writing() as curs:
            curs.execute(self.sql.insert_cosignature, (size, witness, line))

    def cosignatures_at(self, size: int) -> dict[str, str]:
        """The cosignature lines kept for the checkpoint of `size`, by witness vkey."""
        with self._reading() as curs:
            curs.execute(self.sql.cosignatures_at, (size,))
            return {row["witness"]: row["line"] for row in curs.fetchall()}

    def latest_cosigned_checkpoint(self, size: int) -> StoredCheckpoint | None:
        """The largest checkpoint of at most `size` entries any witness cosigned."""
        return self._one_checkpoint(self.sql.latest_cosigned_checkpoint, (size,))

    def latest_cosigned(self, witness: str) -> int:
        """The largest tree size `witness` cosigned for this log (0 if none)."""
        with self._reading() as curs:
            curs.execute(self.sql.latest_cosigned, (witness,))
            return int(curs.fetchone()["tree_size"])


def prune_snapshots(
    recorder: SQLiteAggregateRecorder | PostgresAggregateRecorder,
    latest: Sequence[tuple[UUID, int]],
) -> None:
    """Delete each aggregate's snapshots older than its `latest` (id, version): a load
    reads only the newest, and keeping every one made the table, and each lookup in it,
    grow with a campaign's meetings (1.35 GB of the 2,484-community city's 1.4 GB)."""
    statement: Any
    if isinstance(recorder, SQLiteAggregateRecorder):
        statement = (
            f"DELETE FROM {recorder.events_table_name} "
            "WHERE originator_id = ? AND originator_version < ?"
        )
        params: list[tuple[Any, int]] = [(stream.hex, version) for stream, version in latest]
    else:
        statement = SQL(
            "DELETE FROM {}.{} WHERE originator_id = %s AND originator_version < %s"
        ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
        params = list(latest)
    with recorder.datastore.transaction(commit=True) as cursor:
        cursor.executemany(statement, params)


def _entry(stream: UUID, event: StoredEvent) -> Entry:
    return Entry(stream, event.originator_version, event.topic, event.state)


def _event_columns(stored_events: Sequence[StoredEvent]) -> list[list[Any]]:
    return [
        [e.originator_id for e in stored_events],
        [e.originator_version for e in stored_events],
        [e.topic for e in stored_events],
        [e.state for e in stored_events],
    ]


def _chunks(items: list[UUID], size: int = 500) -> Iterator[list[UUID]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(int(row["tree_size"]), bytes(row["root"]), row["note"])


class LedgerCorrupt(Exception):
    """The stored ledger contradicts itself; `position` names where."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


class LedgerSQLiteRecorder(LedgerRecorder, SQLiteApplicationRecorder):
    def __init__(self, datastore: Any, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name)
        self.sql = LedgerSQL(
            "?",
            "ledger_leaves",
            "ledger_nodes",
            "ledger_checkpoints",
            events_table_name,
            "rowid",
            "ledger_cosignatures",
        )

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS ledger_leaves (leaf_index INTEGER PRIMARY KEY, "
            "notification_id INTEGER NOT NULL UNIQUE)",
            "CREATE TABLE IF NOT EXISTS ledger_nodes (level INTEGER NOT NULL, "
            "node_index INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, node_index)) "
            "WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS ledger_checkpoints (tree_size INTEGER PRIMARY KEY, "
            "root BLOB NOT NULL, note TEXT NOT NULL, "
            "created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
            "CREATE TABLE IF NOT EXISTS ledger_cosignatures (tree_size INTEGER NOT NULL, "
            "witness TEXT NOT NULL, line TEXT NOT NULL, PRIMARY KEY (tree_size, witness))",
        ]

    def _stream_param(self, stream: UUID) -> Any:
        return stream.hex

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        assert notification_ids is not None, "an application recorder numbers its events"
        self._append_to_ledger(c, stored_events, notification_ids, kwargs.get(LEDGER_SINK))
        return notification_ids

    def _append_to_ledger(
        self,
        curs: Any,
        stored_events: Sequence[StoredEvent],
        notification_ids: Sequence[int],
        sink: list[LeafRecord] | None,
    ) -> None:
        curs.execute(self.sql.size)
        start = curs.fetchone()["size"]
        known = self._fetch_nodes(curs, merkle.root_plan(start))
        leaf_rows: list[tuple[int, int]] = []
        node_rows: list[tuple[int, int, bytes]] = []
        for offset, (event, notification_id) in enumerate(
            zip(stored_events, notification_ids, strict=True)
        ):
            index = start + offset
            stream = self._stream_value(event.originator_id)
            entry = _entry(stream, event)
            leaf = merkle.leaf_hash(entry.leaf_input())
            known[(0, index)] = leaf
            siblings = [known[node] for node in merkle.append_siblings(index)]
            completed = [((0, index), leaf), *merkle.append(index, leaf, siblings)]
            known.update(completed)
            leaf_rows.append((index, notification_id))
            node_rows.extend((level, i, h) for (level, i), h in completed)
            if sink is not None:
                sink.append(LeafRecord(index, leaf, entry))
        curs.executemany(self.sql.insert_leaf, leaf_rows)
        curs.executemany(self.sql.insert_node, node_rows)

    @contextmanager
    def _reading(self, positional: bool = False) -> Iterator[Any]:
        with self.datastore.transaction(commit=False) as curs:
            yield curs

    @contextmanager
    def _writing(self) -> Iterator[Any]:
        with self.datastore.transaction(commit=True) as curs:
            yield curs


class LedgerPostgresRecorder(LedgerRecorder, PostgresApplicationRecorder):
    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = self.datastore.schema

        def qualified(table: str) -> str:
            return SQL("{}.{}").format(Identifier(schema), Identifier(table)).as_string()

        self.sql = LedgerSQL(
            "%s",
            qualified("ledger_leaves"),
            qualified("ledger_nodes"),
            qualified("ledger_checkpoints"),
            qualified(events_table_name),
            "notification_id",
            qualified("ledger_cosignatures"),
        )
        self.sql_create_statements.extend(
            Composed(
                [
                    SQL(
                        statement.format(
                            leaves=self.sql.leaves,
                            nodes=self.sql.nodes,
                            checkpoints=self.sql.checkpoints,
                            cosignatures=self.sql.cosignatures,
                        )
                    )
                ]
            )
            for statement in (
                "CREATE TABLE IF NOT EXISTS {leaves} (leaf_index bigint PRIMARY KEY, "
                "notification_id bigint NOT NULL UNIQUE)",
                "CREATE TABLE IF NOT EXISTS {nodes} (level smallint NOT NULL, "
                "node_index bigint NOT NULL, hash bytea NOT NULL, PRIMARY KEY (level, node_index))",
                "CREATE TABLE IF NOT EXISTS {checkpoints} (tree_size bigint PRIMARY KEY, "
                "root bytea NOT NULL, note text NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now())",
                "CREATE TABLE IF NOT EXISTS {cosignatures} (tree_size bigint NOT NULL, "
                "witness text NOT NULL, line text NOT NULL, PRIMARY KEY (tree_size, witness))",
            )
        )
        self.append_function = qualified("ledger_append")
        self.sql_create_statements.append(Composed([SQL(self._append_function_definition())]))

    def _append_function_definition(self) -> str:
        """`ledger_append`: lock, insert the events, then for each leaf insert it and every
        node it completes (RFC 9162: node = SHA-256(0x01 ‖ left ‖ right); a leaf at an odd
        index completes its parent with its stored left sibling, and so on up)."""
        timeout = self.datastore.lock_timeout
        return f"""
CREATE OR REPLACE FUNCTION {self.append_function}(
    ids uuid[], versions bigint[], topics text[], states bytea[], leaf_hashes bytea[]
) RETURNS TABLE (out_index bigint, out_notification_id bigint)
LANGUAGE plpgsql AS $body$
DECLARE
    start bigint;
    new_ids bigint[];
    i integer;
    at_index bigint;
    node_level smallint;
    node_hash bytea;
    sibling bytea;
BEGIN
    PERFORM set_config('lock_timeout', '{timeout}s', true);
    LOCK TABLE {self.sql.events} IN EXCLUSIVE MODE;
    PERFORM pg_notify('{self.channel_name}', '');
    WITH inserted AS (
        INSERT INTO {self.sql.events} AS e (originator_id, originator_version, topic, state)
        SELECT * FROM unnest(ids, versions, topics, states)
        RETURNING e.notification_id
    )
    SELECT array_agg(inserted.notification_id ORDER BY inserted.notification_id)
    INTO new_ids FROM inserted;
    SELECT COALESCE(MAX(l.leaf_index) + 1, 0) INTO start FROM {self.sql.leaves} l;
    FOR i IN 1 .. cardinality(leaf_hashes) LOOP
        at_index := start + i - 1;
        node_hash := leaf_hashes[i];
        INSERT INTO {self.sql.leaves} (leaf_index, notification_id) VALUES (at_index, new_ids[i]);
        INSERT INTO {self.sql.nodes} (level, node_index, hash) VALUES (0, at_index, node_hash);
        node_level := 0;
        WHILE at_index % 2 = 1 LOOP
            SELECT n.hash INTO sibling FROM {self.sql.nodes} n
            WHERE n.level = node_level AND n.node_index = at_index - 1;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'ledger node (%, %) is missing', node_level, at_index - 1
                USING ERRCODE = 'data_corrupted', DETAIL = at_index - 1;
            END IF;
            node_hash := sha256('\\x01'::bytea || sibling || node_hash);
            node_level := node_level + 1;
            at_index := at_index / 2;
            INSERT INTO {self.sql.nodes} (level, node_index, hash)
            VALUES (node_level, at_index, node_hash);
        END LOOP;
        out_index := start + i - 1;
        out_notification_id := new_ids[i];
        RETURN NEXT;
    END LOOP;
END
$body$"""

    @retry((InternalError, IntegrityError), max_attempts=5, wait=0.2)
    def create_table(self) -> None:
        """Processes that open a new store at once race each other's DDL ("tuple
        concurrently updated", a duplicate type); tried again, it finds it all created."""
        super().create_table()

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's locked insert with the ledger, as one statement.

        Why not the library's pipeline: waiting on a pipeline spins the CPU (a fifth of
        a ballot's server time went there), and appending to the tree took two more
        round trips while the table lock was held. Leaf hashes depend only on the
        events, so they are computed here before the lock; `ledger_append` takes the
        lock, inserts the events, the leaves and the completed nodes, and returns, all
        in one round trip with its plans cached by the server.
        """
        if not stored_events:
            return []
        entries = [_entry(self._stream_value(e.originator_id), e) for e in stored_events]
        leaves = [merkle.leaf_hash(entry.leaf_input()) for entry in entries]
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row) as curs,
        ):
            try:
                curs.execute(self._append, [*_event_columns(stored_events), leaves], prepare=True)
            except DataCorrupted as exc:
                position = int(exc.diag.message_detail or -1)
                raise LedgerCorrupt(exc.diag.message_primary or str(exc), position) from None
            rows = curs.fetchall()
        sink = kwargs.get(LEDGER_SINK)
        if sink is not None:
            sink.extend(
                LeafRecord(index, leaf, entry)
                for (index, _), leaf, entry in zip(rows, leaves, entries, strict=True)
            )
        return [notification_id for _, notification_id in rows]

    @cached_property
    def _append(self) -> str:
        """Binary parameters (`%b`): text-format bytea arrays are escaped byte by byte in
        Python, about 18 times slower for a batch's states."""
        return (
            f"SELECT * FROM {self.append_function}"
            "(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[], %b::bytea[])"
        )

    @contextmanager
    def _reading(self, positional: bool = False) -> Iterator[Any]:
        rows = tuple_row if positional else dict_row
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=rows) as curs:
            yield curs

    @contextmanager
    def _writing(self) -> Iterator[Any]:
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            yield curs
