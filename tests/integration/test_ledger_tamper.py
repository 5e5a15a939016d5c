"""Tampering with the stored ledger is caught by `appraisal ledger verify`, which names
the position and exits non-zero; the untouched store verifies."""

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import checkpoint
from entrypoints.cli import main
from service.settings import Settings
from tests.support import Harness, RawStore

POSITION = 7


@pytest.fixture
def populated(harness: Harness) -> Iterator[tuple[Harness, RawStore]]:
    for _ in range(5):
        harness.register("evaluator")
    harness.system.ledger.checkpoint_now()
    raw = RawStore(harness.system.settings)
    yield harness, raw
    raw.close()


def verify(settings: Settings) -> tuple[int, dict]:
    env = {
        "APPRAISAL_DATA_DIR": str(settings.data_dir),
        "APPRAISAL_DATABASE_URL": settings.database_url,
    }
    result = CliRunner().invoke(main, ["ledger", "verify", "--json"], env=env)
    return result.exit_code, json.loads(result.stdout)


def test_untouched_store_verifies(populated) -> None:
    harness, _ = populated
    code, report = verify(harness.system.settings)
    assert (code, report["ok"], report["tree_size"]) == (0, True, harness.size)


def test_changed_state_byte_is_named(populated) -> None:
    harness, raw = populated
    stream, version = raw.event_at(POSITION)
    [(state,)] = raw.execute(
        "SELECT state FROM {events} WHERE originator_id = ? AND originator_version = ?",
        stream,
        version,
    )
    state = bytearray(state)
    state[10] ^= 0x01
    raw.execute(
        "UPDATE {events} SET state = ? WHERE originator_id = ? AND originator_version = ?",
        bytes(state),
        stream,
        version,
    )
    code, report = verify(harness.system.settings)
    assert (code, report["first_bad_position"]) == (1, POSITION)
    assert "leaf hash" in report["problem"]


def test_deleted_event_row_is_named(populated) -> None:
    harness, raw = populated
    stream, version = raw.event_at(POSITION)
    raw.execute(
        "DELETE FROM {events} WHERE originator_id = ? AND originator_version = ?", stream, version
    )
    code, report = verify(harness.system.settings)
    assert (code, report["first_bad_position"]) == (1, POSITION)
    assert "missing" in report["problem"]


def test_deleted_leaf_row_is_named(populated) -> None:
    harness, raw = populated
    raw.execute("DELETE FROM {ledger_leaves} WHERE leaf_index = ?", POSITION)
    code, report = verify(harness.system.settings)
    assert (code, report["first_bad_position"]) == (1, POSITION)


def test_swapped_rows_are_named(populated) -> None:
    harness, raw = populated
    first, second = raw.event_at(POSITION), raw.event_at(POSITION + 3)
    rows = {}
    for stream, version in (first, second):
        [(topic, state)] = raw.execute(
            "SELECT topic, state FROM {events} WHERE originator_id = ? AND originator_version = ?",
            stream,
            version,
        )
        rows[(stream, version)] = (topic, state)
    for target, source in ((first, second), (second, first)):
        raw.execute(
            "UPDATE {events} SET topic = ?, state = ? "
            "WHERE originator_id = ? AND originator_version = ?",
            *rows[source],
            *target,
        )
    code, report = verify(harness.system.settings)
    assert (code, report["first_bad_position"]) == (1, POSITION)


def test_altered_node_is_named(populated) -> None:
    harness, raw = populated
    raw.execute(
        "UPDATE {ledger_nodes} SET hash = ? WHERE level = 2 AND node_index = 1", b"\x00" * 32
    )
    code, report = verify(harness.system.settings)
    assert (code, report["first_bad_position"]) == (1, 4)
    assert "node (2, 1)" in report["problem"]


def test_checkpoint_signed_by_another_key_is_named(populated) -> None:
    harness, raw = populated
    size = harness.size
    [(root,)] = raw.execute("SELECT root FROM {ledger_checkpoints} WHERE tree_size = ?", size)
    origin = harness.system.settings.log_origin
    forged = checkpoint.sign_checkpoint(
        origin, size, bytes(root), origin, Ed25519PrivateKey.generate()
    )
    raw.execute("UPDATE {ledger_checkpoints} SET note = ? WHERE tree_size = ?", forged, size)
    code, report = verify(harness.system.settings)
    assert (code, report["first_bad_position"]) == (1, size)
    assert "checkpoint" in report["problem"]
