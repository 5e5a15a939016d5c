"""The view tables, declared once, and their SQL for either store.

Every table holds plain rows derived only from events, so replaying from zero
writes the same bytes again. JSON columns hold canonical JSON (sorted keys, no
spaces) and flags are integers 0/1, which keeps rows identical across rebuilds
and lets one DDL text serve SQLite and PostgreSQL alike. What differs between
the stores — the parameter mark, schema-qualified names and how a writer locks
the tracking row — is given to :class:`ViewSQL`, as in ``service.recorders.LedgerSQL``.
"""

import hashlib
import json
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.recorders import LedgerSQL


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


def _table(name: str, spec: str, key: str, *indexes: str) -> Table:
    """`spec` lists the columns in order, `name:int` for integers (else text)."""
    columns = tuple(
        (column, "BIGINT" if kind == "int" else "TEXT")
        for column, _, kind in (word.partition(":") for word in spec.split())
    )
    return Table(name, columns, tuple(key.split()), tuple(tuple(i.split()) for i in indexes))


TABLES: tuple[Table, ...] = (
    _table(
        "campaigns",
        "campaign_id title year:int status details appraisees:int group_rules "
        "proposal_hash proposal_position:int proposal_checkpoint approval_position:int "
        "window_ends published_on interviews created_position:int updated_position:int",
        "campaign_id",
    ),
    _table(
        "roster",
        "campaign_id appraisee_id seq:int name position unit category",
        "campaign_id appraisee_id",
        "campaign_id seq",
    ),
    _table("labels", "campaign_id kind code label", "campaign_id kind code"),
    _table(
        "results",
        "campaign_id appraisee_id seq:int category status score score_exact rank:int grade "
        "computed_grade adjustment_grade adjustment_reason flags notes consequences group_scores",
        "campaign_id appraisee_id",
        "campaign_id seq",
    ),
    _table(
        "meetings",
        "meeting_id campaign_id status issued anonymous appraisees:int opened_position:int "
        "closed_position:int checkpoint recorded",
        "meeting_id",
        "campaign_id opened_position",
    ),
    _table(
        "reconciliation",
        "meeting_id group_code campaign_id n_issued:int n_slips_voided:int n_handed_out:int "
        "n_cast:int n_unused:int n_entries_voided:int n_valid:int "
        "n_invalid:int n_voided:int n_counted:int n_abstentions:int invalid_reasons",
        "meeting_id group_code",
    ),
    _table(
        "ballots",
        "ballot_id campaign_id meeting_id group_code anonymous:int signer paper_serial teller "
        "ledger_index:int leaf_hash valid:int invalid_reason abstentions:int voided_reason "
        "voided_dispute voided_position:int",
        "ballot_id",
        "campaign_id ledger_index",
    ),
    _table(
        "reports",
        "report_id campaign_id appraisee_id status parts comments submitted_position:int "
        "updated_position:int",
        "report_id",
        "campaign_id submitted_position",
    ),
    _table(
        "disputes",
        "dispute_id campaign_id appraisee_id grounds lodged_by status reason voided "
        "lodged_position:int resolved_position:int",
        "dispute_id",
        "campaign_id lodged_position",
    ),
    _table(
        "plans",
        "plan_id campaign_id appraisee_id closed:int created_position:int updated_position:int",
        "plan_id",
        "campaign_id created_position",
    ),
    _table(
        "plan_items",
        "plan_id item_id seq:int description measures responsible deadline status progress checks",
        "plan_id item_id",
        "deadline",
    ),
    _table(
        "actors",
        "actor_id name roles registered_position:int updated_position:int",
        "actor_id",
        "registered_position",
    ),
    _table(
        "keys",
        "key_id actor_id public_key revoked:int added_position:int revoked_position:int",
        "key_id",
        "actor_id added_position",
    ),
)
# Not views: each proposal's derivation, content-addressed by its hash (see
# projections/derivations.py). Created with the views, but a rebuild keeps them and
# does not compare them: which process stored them first, and when, is not an event's.
DERIVATIONS: tuple[Table, ...] = (
    _table(
        "derived_proposals",
        "campaign_id proposal_hash quota_decisions",
        "campaign_id proposal_hash",
    ),
    _table(
        "derived_results",
        "campaign_id proposal_hash appraisee_id result",
        "campaign_id proposal_hash appraisee_id",
    ),
)
# Not a view either: the fingerprint of the view tables' declaration the rows were
# written under. A process that finds another one drops and rebuilds the views
# (`ViewStore.create_table`), so an upgrade that adds a column never serves old rows.
VIEW_SCHEMA = _table("schema", "fingerprint", "fingerprint")
TABLE = {table.name: table for table in (*TABLES, *DERIVATIONS, VIEW_SCHEMA)}


def fingerprint(tables: Sequence[Table]) -> str:
    """SHA-256 over the tables' names, columns, keys and indexes, in declaration order."""
    declared = [[t.name, t.columns, t.key, t.indexes] for t in tables]
    return hashlib.sha256(dumps(declared).encode()).hexdigest()


def dumps(value: Any) -> str:
    """Canonical JSON text for a JSON column: the same value always gives the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class ViewSQL:
    """The read side's SQL, written once with `?` marks and `{name}` tables.

    `lock_tracking` is the statement that makes a writer the only one applying
    events until it commits: `SELECT … FOR UPDATE` on PostgreSQL, a no-op UPDATE
    on SQLite (which takes the database's write lock before anything is read).
    """

    def __init__(
        self,
        mark: str,
        qualify: Callable[[str], str],
        tracking: str,
        ledger: LedgerSQL,
        lock_tracking: str,
    ) -> None:
        self.mark = mark
        self.names = {name: qualify(f"view_{name}") for name in TABLE}
        self.names.update(
            tracking=tracking,
            leaves=ledger.leaves,
            nodes=ledger.nodes,
            events=ledger.events,
            event_id=ledger.event_id,
            checkpoints=ledger.checkpoints,
        )
        self.lock_tracking = self.q(lock_tracking)
        self._statements: dict[tuple[Any, ...], str] = {}

    def q(self, template: str) -> str:
        """Fill in table names and this driver's parameter mark."""
        return template.format(**self.names).replace("?", self.mark)

    def _cached(self, key: tuple[Any, ...], build: Callable[[], str]) -> str:
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = self.q(build())
        return statement

    def create(self, table: Table) -> list[str]:
        columns = ", ".join(f"{name} {kind}" for name, kind in table.columns)
        statements = [
            f"CREATE TABLE IF NOT EXISTS {self.names[table.name]} "
            f"({columns}, PRIMARY KEY ({', '.join(table.key)}))"
        ]
        statements.extend(
            f"CREATE INDEX IF NOT EXISTS view_{table.name}_{'_'.join(index)} "
            f"ON {self.names[table.name]} ({', '.join(index)})"
            for index in table.indexes
        )
        return statements

    def drop(self, table: Table) -> str:
        return f"DROP TABLE IF EXISTS {self.names[table.name]}"

    def upsert(self, table: str, columns: Sequence[str]) -> str:
        """Insert a row, or update just the given columns of the row with its key."""

        def build() -> str:
            key = TABLE[table].key
            rest = [c for c in columns if c not in key]
            action = (
                "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in rest)
                if rest
                else "DO NOTHING"
            )
            return (
                f"INSERT INTO {{{table}}} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))}) "
                f"ON CONFLICT ({', '.join(key)}) {action}"
            )

        return self._cached(("upsert", table, tuple(columns)), build)

    def update(self, table: str, key: Sequence[str], columns: Sequence[str], add: bool) -> str:
        """Set (or, with `add`, increase by) the given columns of the rows matching `key`."""

        def build() -> str:
            sets = ", ".join(f"{c} = {c} + ?" if add else f"{c} = ?" for c in columns)
            where = " AND ".join(f"{k} = ?" for k in key)
            return f"UPDATE {{{table}}} SET {sets} WHERE {where}"

        return self._cached(("update", table, tuple(key), tuple(columns), add), build)

    def delete(self, table: str, key: Sequence[str]) -> str:
        return self._cached(
            ("delete", table, tuple(key)),
            lambda: f"DELETE FROM {{{table}}} WHERE " + " AND ".join(f"{k} = ?" for k in key),
        )

    def dump(self, table: Table) -> str:
        """Every row in key order: the canonical content a rebuild must reproduce."""
        return self._cached(
            ("dump", table.name),
            lambda: (
                f"SELECT {', '.join(table.column_names)} FROM {{{table.name}}} "
                f"ORDER BY {', '.join(table.key)}"
            ),
        )


# PostgreSQL text cannot hold NUL, and one stored value that a view cannot hold would
# stop the projection for good. The wire refuses NUL now; a value stored before that
# is shown with U+FFFD in its place, on both stores alike (the ledger keeps it as signed).
NUL = "\x00"
NUL_STAND_IN = "\ufffd"


def storable(params: Sequence[Any]) -> tuple[Any, ...]:
    """Parameters as the view tables can hold them (see NUL_STAND_IN)."""
    return tuple(p.replace(NUL, NUL_STAND_IN) if type(p) is str and NUL in p else p for p in params)


class Tx:
    """One open transaction on the view tables, with row-level helpers."""

    def __init__(self, cursor: Any, sql: ViewSQL) -> None:
        self.cursor = cursor
        self.sql = sql
        self._remembered: dict[Hashable, Any] = {}

    def remembered(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """A value read once per transaction: only for rows no later change in it alters
        (a meeting's anonymous groups, fixed when it opens)."""
        if key not in self._remembered:
            self._remembered[key] = compute()
        return self._remembered[key]

    def _run(self, statement: str, params: Sequence[Any]) -> None:
        self.cursor.execute(statement, storable(params))

    def execute(self, template: str, *params: Any) -> None:
        self._run(self.sql.q(template), params)

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        self.cursor.executemany(statement, [storable(row) for row in rows])

    def all(self, template: str, *params: Any) -> list[dict[str, Any]]:
        self.execute(template, *params)
        return [dict(row) for row in self.cursor.fetchall()]

    def one(self, template: str, *params: Any) -> dict[str, Any] | None:
        self.execute(template, *params)
        row = self.cursor.fetchone()
        return None if row is None else dict(row)

    def upsert(self, table: str, row: Mapping[str, Any]) -> None:
        self._run(self.sql.upsert(table, tuple(row)), tuple(row.values()))

    def update(self, table: str, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        statement = self.sql.update(table, tuple(key), tuple(values), add=False)
        self._run(statement, (*values.values(), *key.values()))

    def add(self, table: str, key: Mapping[str, Any], deltas: Mapping[str, int]) -> None:
        statement = self.sql.update(table, tuple(key), tuple(deltas), add=True)
        self._run(statement, (*deltas.values(), *key.values()))

    def delete(self, table: str, key: Mapping[str, Any]) -> None:
        self._run(self.sql.delete(table, tuple(key)), tuple(key.values()))
