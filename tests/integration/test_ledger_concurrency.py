"""Several writer processes on PostgreSQL never fork the tree."""

import itertools
import multiprocessing
import uuid

import pytest

from domain import checkpoint, merkle
from domain.registry import KeyBinding
from service.ledger_verify import verify_ledger
from service.settings import Settings
from service.system import System, initialise
from tests.conftest import postgres_schema_url
from tests.support import Signer

WRITERS = 4
EVENTS_EACH = 2000


def write(url: str, data_dir: str, count: int) -> None:
    settings = Settings.from_env({"APPRAISAL_DATA_DIR": data_dir, "APPRAISAL_DATABASE_URL": url})
    system = System.open(settings)
    try:
        for n in range(count):
            system.app.record(
                KeyBinding(id=uuid.uuid4(), key_id=uuid.uuid4().hex, holder="test", holder_id="-")
            )
            if n % 250 == 0:
                system.ledger.checkpoint_now()
        system.ledger.checkpoint_now()
    finally:
        system.close()


@pytest.mark.slow
def test_four_postgres_writers_build_one_dense_tree(postgres_database: str, tmp_path) -> None:
    url = postgres_schema_url(postgres_database)
    settings = Settings.from_env(
        {"APPRAISAL_DATA_DIR": str(tmp_path), "APPRAISAL_DATABASE_URL": url}
    )
    initialise(settings, Signer().public_key)
    system = System.open(settings)
    start = system.ledger.size()
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=write, args=(url, str(tmp_path), EVENTS_EACH))
        for _ in range(WRITERS)
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=600)
        assert process.exitcode == 0
    try:
        size = system.ledger.size()
        assert size == start + WRITERS * EVENTS_EACH
        indexes = [row["index"] for row in system.app.ledger.ledger_entries(0, size)]
        assert indexes == list(range(size))
        stored = system.app.ledger.checkpoints()
        assert len(stored) > WRITERS
        origin, key = settings.log_origin, system.ledger.log_public_key
        for older, newer in itertools.pairwise(stored):
            old = checkpoint.verify_checkpoint(older.note, origin, key)
            new = checkpoint.verify_checkpoint(newer.note, origin, key)
            if old.size:
                merkle.verify_consistency(
                    old.size,
                    new.size,
                    old.root,
                    new.root,
                    system.ledger.consistency_proof(old.size, new.size),
                )
        assert verify_ledger(system.app.ledger, key, origin).ok
    finally:
        system.close()
