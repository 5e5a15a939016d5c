"""The projection worker: applies the store's events to the view tables, exactly once.

Exactly once: each step is one database transaction that (1) locks the tracking
row, (2) reads the position P from it, (3) reads the next events after P in
notification order, (4) applies them to the view tables and (5) writes the new
position with the library's tracking upsert. A crash before the commit leaves
nothing behind and the next step starts again from P; after the commit, views
and position moved together. The lock makes a second worker (another process,
or a rebuild) wait and then read the position the first one committed, so no
event is ever applied twice. Gaps in PostgreSQL notification ids are harmless:
the worker asks for "ids greater than P", never for P + 1.

After a step that projected a new proposal, the worker derives it and keeps the
derivation (`projections.derivations`) on a thread of its own, outside the step's
transaction: deriving a city takes seconds, and the views must not stand still
meanwhile. It is a content-addressed cache, not a view, so a crash or a failure there
loses nothing an explanation cannot compute itself.

Waiting for new events: on PostgreSQL the worker LISTENs on the channel the
application recorder NOTIFYs inside every insert transaction, polling only as a
safety net; SQLite has no notifications, so there it polls.
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from eventsourcing.utils import get_topic

from domain.campaign import Campaign
from projections.derivations import precompute
from projections.projector import Projector
from projections.read_side import ReadSide
from projections.store import TRACKING_NAME

DEFAULT_BATCH_SIZE = 200
DEFAULT_POLL_INTERVAL = 0.5
RETRY_SECONDS = 2.0

log = logging.getLogger("appraisal.projections")
PROPOSED = get_topic(Campaign.ResultsProposed)

# The batch's leaves are chosen first, in a subquery the primary key answers, and only
# then joined: with the limit outside the joins PostgreSQL plans a join over the whole
# log, so each batch cost more as the log grew (catch-up was super-linear). Each leaf's
# hash is a correlated lookup for the same reason: joined, PostgreSQL hashed every leaf
# node of the log for each batch.
SELECT_EVENTS = (
    "SELECT l.leaf_index, l.notification_id, e.originator_id, e.originator_version, "
    "e.topic, e.state, "
    "(SELECT n.hash FROM {nodes} n WHERE n.level = 0 AND n.node_index = l.leaf_index) "
    "AS leaf_hash "
    "FROM (SELECT leaf_index, notification_id FROM {leaves} "
    "WHERE notification_id > ? ORDER BY notification_id LIMIT ?) l "
    "JOIN {events} e ON e.{event_id} = l.notification_id "
    "ORDER BY l.notification_id"
)


@dataclass(frozen=True)
class Batch:
    """One committed step: how many events, and the position reached."""

    events: int
    notification_id: int
    ledger_index: int


class Worker:
    """Applies batches of events; one per thread or process."""

    def __init__(self, read: ReadSide, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.app = read.app
        self.views = read.views
        self.projector = Projector(read.app)
        self.batch_size = batch_size
        self._deriving = ThreadPoolExecutor(max_workers=1, thread_name_prefix="derivations")

    def step(self) -> Batch | None:
        """Apply the next batch in one transaction with its tracking row; None when caught up."""
        try:
            with self.views.writing() as tx:
                tx.cursor.execute(tx.sql.lock_tracking, (TRACKING_NAME,))
                tracked = tx.one(
                    "SELECT notification_id FROM {tracking} WHERE application_name = ?",
                    TRACKING_NAME,
                )
                assert tracked is not None, "the tracking row is seeded when the tables are created"
                rows = tx.all(SELECT_EVENTS, tracked["notification_id"], self.batch_size)
                with self.views.applying(tx):
                    for row in rows:
                        self.projector.apply(tx, row)
                if rows:
                    self.views.insert_tracking_in(tx, rows[-1]["notification_id"])
        except BaseException:
            self.projector.forget()
            raise
        if not rows:
            return None
        self._derive_proposals(rows)
        return Batch(len(rows), rows[-1]["notification_id"], rows[-1]["leaf_index"])

    def _derive_proposals(self, rows: list[dict[str, Any]]) -> None:
        proposed = {str(row["originator_id"]) for row in rows if row["topic"] == PROPOSED}
        for campaign_id in sorted(proposed):
            self._deriving.submit(self._derive, campaign_id)

    def _derive(self, campaign_id: str) -> None:
        try:
            if precompute(self.app, self.views, campaign_id):
                log.info("derivation of campaign %s stored", campaign_id)
        except Exception:
            log.exception("deriving campaign %s failed; explanations derive it", campaign_id)

    def finish(self) -> None:
        """Wait for the derivations started so far, then stop deriving (a synchronous
        catch-up ends with them)."""
        self._deriving.shutdown(wait=True)

    def catch_up(self, on_batch: Callable[[Batch], object] | None = None) -> int:
        """Apply everything up to the head as it stands now; return how many events."""
        head = self.views.position().head_notification_id
        applied = 0
        while head is not None:
            batch = self.step()
            if batch is None:
                break
            applied += batch.events
            if on_batch is not None:
                on_batch(batch)
            if batch.notification_id >= head:
                break
        return applied

    def run(
        self,
        stop: threading.Event,
        poll_interval: float,
        on_caught_up: Callable[[], object] | None = None,
    ) -> None:
        """Keep the views current until `stop` is set; `on_caught_up` after each catch-up."""
        try:
            with self.views.listening(stop) as wait:
                while not stop.is_set():
                    applied = self.catch_up()
                    if applied:
                        log.info("projected %d event(s)", applied)
                    if on_caught_up is not None:
                        on_caught_up()
                    wait(poll_interval)
        finally:
            self._deriving.shutdown(wait=True, cancel_futures=True)  # before the store closes


def catch_up(
    read: ReadSide,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[Batch], object] | None = None,
) -> int:
    """Bring the views up to the current head synchronously (demo, tests, `run --once`),
    with the derivations of the proposals among them."""
    worker = Worker(read, batch_size)
    try:
        return worker.catch_up(on_batch)
    finally:
        worker.finish()


def rebuild(
    read: ReadSide,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[Batch], object] | None = None,
) -> int:
    """Drop every view table, recreate it and replay the whole store from zero."""
    read.views.reset()
    return catch_up(read, batch_size=batch_size, on_batch=on_batch)


def run_forever(
    read: ReadSide,
    stop: threading.Event,
    *,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_caught_up: Callable[[], object] | None = None,
) -> None:
    """The long-running worker of `appraisal projections run`."""
    Worker(read, batch_size).run(stop, poll_interval, on_caught_up)


def content_hashes(read: ReadSide) -> dict[str, str]:
    """SHA-256 per view table over its rows in key order: equal hashes, equal views."""
    return read.views.content_hashes()


class ProjectionThread:
    """The projection inside the server or demo process, so the embedded default
    needs one process. A failure (e.g. the database restarting) is logged and
    retried, and reported by `trouble` until a catch-up succeeds again; a second
    runner anywhere only waits on the tracking lock."""

    def __init__(
        self,
        read: ReadSide,
        *,
        poll_interval: float = 0.2,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.read = read
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="projections", daemon=True)
        self._failure: Exception | None = None

    def start(self) -> "ProjectionThread":
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def trouble(self) -> str | None:
        """Why the views are not being kept right now, or None while they are."""
        if not self._thread.is_alive():
            return "the projection worker is not running"
        failure = self._failure
        if failure is not None:
            return f"the projection worker is failing ({type(failure).__name__}); it retries"
        return None

    def _caught_up(self) -> None:
        self._failure = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                run_forever(
                    self.read,
                    self._stop,
                    poll_interval=self.poll_interval,
                    batch_size=self.batch_size,
                    on_caught_up=self._caught_up,
                )
            except Exception as exc:
                self._failure = exc
                log.exception("projection worker failed; retrying in %.0f s", RETRY_SECONDS)
                self._stop.wait(RETRY_SECONDS)
