"""Test helpers: actors with real keys who sign real envelopes against a real store."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from entrypoints.signing import Signer
from projections.read_side import ReadSide
from service.commands import Accepted
from service.keyfiles import write_private_key
from service.settings import Settings
from service.system import System, initialise


def fuzz_examples(bounded: int) -> int:
    """Examples for a generated test: `bounded` in `make test`, many more under `make fuzz`
    (APPRAISAL_FUZZ_FACTOR, a multiplier)."""
    return bounded * int(os.environ.get("APPRAISAL_FUZZ_FACTOR", "1"))


@dataclass
class Harness:
    system: System
    admin: Signer
    init_result: dict[str, Any]

    @classmethod
    @contextmanager
    def initialised(cls, settings: Settings) -> Iterator["Harness"]:
        admin = Signer()
        write_private_key(settings.data_dir / "admin.key", admin.key)
        result = initialise(settings, admin.public_key)
        system = System.open(settings)
        harness = cls(system, admin, result)
        try:
            yield harness
        finally:
            if "read" in harness.__dict__:
                harness.read.close()
            system.close()

    @cached_property
    def read(self) -> ReadSide:
        """The read side, its view tables created on first use."""
        return ReadSide.open(self.system.app)

    def submit(self, envelope: dict[str, Any]) -> Accepted:
        return self.system.bus.handle(envelope)

    # The scenario's transport (tests.support.scenario.Transport) through the bus.
    @property
    def harness(self) -> "Harness":
        return self

    def accept(self, envelope: dict[str, Any]) -> Accepted:
        return self.submit(envelope)

    def result(self, answer: Accepted) -> dict[str, Any]:
        return answer.result

    def opened_at(self, meeting_id: str, group: str) -> str:
        return self.system.opened_at(meeting_id)

    def register(self, *roles: str, name: str = "Someone") -> Signer:
        person = Signer()
        self.submit(self.admin.envelope("actor.register", **person.registration(name, roles)))
        return person

    @property
    def size(self) -> int:
        return self.system.ledger.size()


class RawStore:
    """Direct SQL on the store, for tests that tamper with it as an attacker would."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._conn: Any
        env = settings.store_env()
        if settings.is_postgres:
            import psycopg

            schema = env["POSTGRES_SCHEMA"] or "public"
            self.tables = {
                name: f'"{schema}".{name}'
                for name in ("ledger_leaves", "ledger_nodes", "ledger_checkpoints")
            }
            self.tables["events"] = f'"{schema}".appraisal_events'
            self.tables["event_id"] = "notification_id"
            self._conn = psycopg.connect(settings.database_url.split("?")[0], autocommit=True)
            self._mark = "%s"
        else:
            import sqlite3

            self.tables = {
                name: name for name in ("ledger_leaves", "ledger_nodes", "ledger_checkpoints")
            }
            self.tables["events"] = "stored_events"
            self.tables["event_id"] = "rowid"
            self._conn = sqlite3.connect(env["SQLITE_DBNAME"], isolation_level=None)
            self._mark = "?"

    def execute(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        statement = sql.format(**self.tables).replace("?", self._mark)
        cursor = self._conn.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description else []

    def event_at(self, position: int) -> tuple[Any, int]:
        [(stream, version)] = self.execute(
            "SELECT e.originator_id, e.originator_version FROM {events} e "
            "JOIN {ledger_leaves} l ON l.notification_id = e.{event_id} WHERE l.leaf_index = ?",
            position,
        )
        return stream, version

    def close(self) -> None:
        self._conn.close()
