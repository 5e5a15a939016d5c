"""The read side: plain view tables kept by an exactly-once projection of the store.

Layout
    schema.py     the view tables (declared once) and their SQL for either store
    store.py      the tables' owner, a tracking recorder per store; positions,
                  read-your-writes waiting, content hashes, rebuild
    projector.py  one event → row changes
    worker.py     batches in one transaction with the tracking row; catch-up,
                  the long-running loop, the in-process thread
    access.py     read-your-writes and who may see what
    queries.py    the query functions the HTTP layer calls
    explain.py    the explanation of a grade down to the ballots' envelopes

Tables (prefix `view_`, in the events' database: the same SQLite file or the
same PostgreSQL schema): campaigns, results, meetings, reconciliation, ballots,
reports, disputes, plans, plan_items, actors, keys; the position is one row of
the tracking table (`tracking` on SQLite, `view_tracking` on PostgreSQL).
Checkpoints are read from the ledger's own `ledger_checkpoints`.

Process model: one projection, one position, all views. Every view table is
updated in the same transaction as the single tracking row, so the views agree
with each other at every position (results never run ahead of the ballots they
count) and read-your-writes waits for one number. A city's volume (~25,000
ballots a year) is far within one process, and a rebuild replays everything in
one pass. Run it either as `appraisal projections run` — a separate process, the
production setup — or, in the embedded default, inside the server or demo with
`ProjectionThread(read).start()` (or `catch_up(read)` for a synchronous
catch-up). More runners than one are safe: they queue on the tracking-row lock.

Why not eventsourcing's ProjectionRunner: it builds its own application from
environment variables (ours is built from `Settings`), it needs `subscribe()`,
which SQLite lacks, and it commits one event per transaction. We use the
library's pieces that fit — the tracking recorders (table and guarded
single-row upsert, inside our transaction), `Tracking`, the application's
mapper to decode events, and the recorder's NOTIFY channel — and batch events
with the same exactly-once guarantee.

Schema changes: tables are created if missing; after changing a table's
columns, run `appraisal projections rebuild`.
"""

from projections.store import ProjectionBehind
from projections.worker import (
    Batch,
    ProjectionThread,
    catch_up,
    content_hashes,
    rebuild,
    run_forever,
)

__all__ = [
    "Batch",
    "ProjectionBehind",
    "ProjectionThread",
    "catch_up",
    "content_hashes",
    "rebuild",
    "run_forever",
]
