"""The view tables' home: a tracking recorder of the event store's own database.

The views live beside the events (the same SQLite file; on PostgreSQL the same
schema), in tables owned by a subclass of the library's tracking recorder for
that store — the pattern of eventsourcing's ``examples/ftsprojection``. So one
transaction holds view rows and the tracking row, and the library's single-row
tracking upsert (which refuses to move a position backwards) guards it.

Each store's subclass only says how to name tables and lock the tracking row;
everything else is written once in :class:`ViewStore`.
"""

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import ProgrammingError, Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import SQL, Composed, Identifier

from domain.errors import DomainError, MalformedCommand
from projections.schema import DERIVATIONS, TABLES, VIEW_SCHEMA, Tx, ViewSQL, dumps, fingerprint
from service.application import AppraisalApplication
from service.settings import APPLICATION_NAME

# The position is kept, as the library does, under the name of the application
# whose notifications it counts.
TRACKING_NAME = APPLICATION_NAME
UNDEFINED_TABLE = "42P01"  # PostgreSQL's SQLSTATE for a relation that does not exist
VIEWS_FINGERPRINT = fingerprint(TABLES)  # what `create_table` compares the stored one with


class ProjectionBehind(DomainError):
    """The views have not reached the asked-for ledger position in time: answering
    now would be stale, so the caller should retry (HTTP 503)."""

    code = "projection-behind"


@dataclass(frozen=True)
class Position:
    """How far the views have got, against the head of the store."""

    notification_id: int
    ledger_index: int | None  # the last ledger leaf the views include
    head_notification_id: int | None
    ledger_size: int

    @property
    def behind(self) -> int:
        return self.ledger_size - (-1 if self.ledger_index is None else self.ledger_index) - 1


class ViewStore(TrackingRecorder):
    """View tables, their tracking row and the reads the queries need, on either store."""

    sql: ViewSQL
    datastore: Any
    channel: str | None = None

    def view_ddl(self) -> list[str]:
        tables = (*TABLES, *DERIVATIONS, VIEW_SCHEMA)
        return [statement for table in tables for statement in self.sql.create(table)]

    def create_table(self) -> None:
        """Create what is missing; views written under another declaration of the tables
        (an older release's columns) are dropped and rebuilt from zero by the workers."""
        super().create_table()  # type: ignore[misc]  # the store's tracking recorder, mixed in
        with self.writing() as tx:
            self._seed_tracking(tx)
            tx.cursor.execute(self.sql.lock_tracking, (TRACKING_NAME,))
            if tx.one("SELECT fingerprint FROM {schema}") != {"fingerprint": VIEWS_FINGERPRINT}:
                self._recreate(tx)

    def _recreate(self, tx: Tx) -> None:
        """Drop and recreate every view table, rewind the position to zero and record the
        declaration the new tables follow; the caller holds the tracking lock."""
        for table in TABLES:
            tx.cursor.execute(self.sql.drop(table))
        for statement in self.view_ddl():
            tx.cursor.execute(statement)
        tx.execute("DELETE FROM {tracking} WHERE application_name = ?", TRACKING_NAME)
        self._seed_tracking(tx)
        tx.execute("DELETE FROM {schema}")
        tx.execute("INSERT INTO {schema} (fingerprint) VALUES (?)", VIEWS_FINGERPRINT)

    def _seed_tracking(self, tx: Tx) -> None:
        tx.execute(
            "INSERT INTO {tracking} (application_name, notification_id) VALUES (?, 0) "
            "ON CONFLICT (application_name) DO NOTHING",
            TRACKING_NAME,
        )

    @contextmanager
    def writing(self) -> Iterator[Tx]:
        with self.datastore.transaction(commit=True) as cursor:
            yield Tx(cursor, self.sql)

    def applying(self, tx: Tx) -> AbstractContextManager[Any]:
        """Around a batch of row changes in `tx` (see `PostgresViews.applying`)."""
        return nullcontext()

    @contextmanager
    def reading(self) -> Iterator[Tx]:
        try:
            with self.datastore.transaction(commit=False) as cursor:
                yield Tx(cursor, self.sql)
        except ProgrammingError as exc:
            if getattr(exc.__cause__, "sqlstate", None) == UNDEFINED_TABLE:
                # Only a replica that has not yet replayed the tables' creation gets here.
                raise ProjectionBehind(
                    "the read models have not reached this replica yet; retry shortly"
                ) from exc
            raise

    def insert_tracking_in(self, tx: Tx, notification_id: int) -> None:
        """Record the new position in the caller's transaction (the library's guarded upsert)."""
        self._insert_tracking(  # type: ignore[attr-defined]  # the store's recorder, mixed in
            tx.cursor, Tracking(TRACKING_NAME, notification_id)
        )

    def reset(self) -> None:
        """Drop and recreate every view table and rewind the position to zero, atomically.

        The tracking row is locked first, in the same order as a worker's step, so a
        worker running meanwhile waits instead of deadlocking."""
        with self.writing() as tx:
            tx.cursor.execute(self.sql.lock_tracking, (TRACKING_NAME,))
            self._recreate(tx)

    def position(self) -> Position:
        with self.reading() as tx:
            row = tx.one(
                "SELECT t.notification_id AS done, "
                "(SELECT leaf_index FROM {leaves} WHERE notification_id <= t.notification_id "
                "ORDER BY notification_id DESC LIMIT 1) AS ledger_index, "
                "(SELECT MAX(notification_id) FROM {leaves}) AS head, "
                "(SELECT MAX(leaf_index) FROM {leaves}) AS last "
                "FROM {tracking} t WHERE t.application_name = ?",
                TRACKING_NAME,
            )
        assert row is not None, "the tracking row is seeded when the tables are created"
        return Position(
            notification_id=row["done"],
            ledger_index=row["ledger_index"],
            head_notification_id=row["head"],
            ledger_size=0 if row["last"] is None else row["last"] + 1,
        )

    def wait_for(self, ledger_index: int, timeout: float) -> None:
        """Return once the views include the event at `ledger_index`; raise
        ProjectionBehind if that takes longer than `timeout` seconds."""
        if ledger_index < 0:
            raise MalformedCommand("min_position must be a ledger index (0 or more)")
        deadline = time.monotonic() + timeout
        pause = 0.005
        while True:
            if self._includes(ledger_index):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                reached = self.position().ledger_index
                raise ProjectionBehind(
                    f"the read models have not yet reached ledger position {ledger_index} "
                    f"(they include up to {reached}); retry shortly",
                    min_position=ledger_index,
                    position=reached,
                    waited_seconds=timeout,
                )
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.1)

    def _includes(self, ledger_index: int) -> bool:
        try:
            with self.reading() as tx:
                row = tx.one(
                    "SELECT (SELECT notification_id FROM {leaves} WHERE leaf_index = ?) AS needed, "
                    "(SELECT notification_id FROM {tracking} WHERE application_name = ?) AS done",
                    ledger_index,
                    TRACKING_NAME,
                )
        except ProjectionBehind:
            return False
        assert row is not None
        return row["needed"] is not None and row["done"] >= row["needed"]

    def content_hashes(self) -> dict[str, str]:
        """SHA-256 of every view table's rows in key order, to compare two builds."""
        hashes = {}
        with self.reading() as tx:
            for table in TABLES:
                digest = hashlib.sha256()
                tx.cursor.execute(self.sql.dump(table))
                for row in tx.cursor.fetchall():
                    digest.update(dumps(list(dict(row).values())).encode() + b"\n")
                hashes[table.name] = digest.hexdigest()
        return hashes

    @contextmanager
    def listening(self, stop: threading.Event) -> Iterator[Callable[[float], object]]:
        """A function that sleeps until new events may have arrived (or `timeout`)."""
        yield stop.wait


class SQLiteViews(ViewStore, SQLiteTrackingRecorder):
    """SQLite: the same file as the events; there is no subscription, so the worker polls."""

    def __init__(self, app: AppraisalApplication) -> None:
        self.sql = ViewSQL(
            "?",
            lambda name: name,
            "tracking",
            app.ledger.sql,
            "UPDATE {tracking} SET notification_id = notification_id WHERE application_name = ?",
        )
        super().__init__(app.ledger.datastore)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.view_ddl()]


class PostgresViews(ViewStore, PostgresTrackingRecorder):
    """PostgreSQL: the events' schema; new events are announced on the recorder's
    NOTIFY channel, which the worker LISTENs to (polling only as a safety net)."""

    def __init__(self, app: AppraisalApplication, datastore: Any = None) -> None:
        datastore = datastore or app.ledger.datastore
        super().__init__(datastore, tracking_table_name="view_tracking")

        def qualified(name: str) -> str:
            return SQL("{}.{}").format(Identifier(datastore.schema), Identifier(name)).as_string()

        self.sql = ViewSQL(
            "%s",
            qualified,
            qualified(self.tracking_table_name),
            app.ledger.sql,
            "SELECT notification_id FROM {tracking} WHERE application_name = ? FOR UPDATE",
        )
        self.channel = app.ledger.channel_name
        self.sql_create_statements.extend(
            Composed([SQL(statement)]) for statement in self.view_ddl()
        )

    def applying(self, tx: Tx) -> AbstractContextManager[Any]:
        """psycopg's pipeline mode: a batch's writes go out without waiting for each
        answer, which was most of catch-up's time (a round trip per row change); a read
        waits for what was sent before it, and an error surfaces by the block's end, so
        the batch's transaction rolls back as before."""
        return tx.cursor.connection.pipeline()

    def _create_table(self, curs: Any) -> None:
        """Serialise creation: a server and a worker starting together would otherwise
        race on CREATE TABLE IF NOT EXISTS, which PostgreSQL does not make atomic."""
        curs.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("appraisal views",))
        super()._create_table(curs)

    @contextmanager
    def listening(self, stop: threading.Event) -> Iterator[Callable[[float], object]]:
        channel = Identifier(self.channel or "")
        with self.datastore.get_connection() as conn:
            conn.execute(SQL("LISTEN {}").format(channel))

            def wait(timeout: float) -> None:
                for _ in conn.notifies(timeout=timeout, stop_after=1):
                    pass

            try:
                yield wait
            finally:
                conn.execute(SQL("UNLISTEN {}").format(channel))


def open_views(app: AppraisalApplication) -> ViewStore:
    """The view store of an application, its tables created if missing. Built once per
    process by the composition root (`bootstrap`), which hands it to every reader."""
    kind = PostgresViews if app.settings.is_postgres else SQLiteViews
    views = kind(app)
    views.create_table()
    return views


def open_replica_views(app: AppraisalApplication) -> ViewStore | None:
    """The same view tables on the configured streaming replica, for queries only: the
    replica is read-only and receives the tables, rows and position from the primary."""
    connection = app.settings.read_replica_connection()
    if connection is None:
        return None
    return PostgresViews(app, PostgresDatastore(**connection, pre_ping=True))
