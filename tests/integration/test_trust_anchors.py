"""`audit verify` against trust anchors (both stores, through the real CLI): checkpoints the
auditor held earlier catch a truncated or forked log, even one the operator re-signed with
the log key; witnesses' cosignatures are required when asked for; v1 bundles still verify."""

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from entrypoints.cli import main
from tests.integration.test_audit import Records, entries, reseal
from tests.support import Harness
from tests.support.bundles import as_format
from tests.witnesses import RunningWitness, new_witness_key

ANCHOR_LINE = "extends trusted checkpoint"
COMMAND_RECORDED = "domain.command_record:CommandRecord.Accepted"


def cli(h: Harness, *args: str, env: dict[str, str] | None = None) -> Result:
    settings = h.system.settings
    environ = {
        "APPRAISAL_DATA_DIR": str(settings.data_dir),
        "APPRAISAL_DATABASE_URL": settings.database_url,
        **(env or {}),
    }
    return CliRunner().invoke(main, list(args), env=environ, catch_exceptions=False)


def grow(h: Harness, n: int) -> None:
    for i in range(n):
        h.register("evaluator", name=f"评议人{i}")


def export(h: Harness, path: Path, env: dict[str, str] | None = None) -> Records:
    result = cli(h, "audit", "export", "-o", str(path), "--json", env=env)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write(path: Path, records: Records) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def verify(h: Harness, path: Path, *options: str) -> tuple[int, dict[str, Any]]:
    key = h.init_result["log_public_key"]
    result = cli(h, "audit", "verify", str(path), "--log-key", key, "--json", *options)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def failed(outcome: tuple[int, dict[str, Any]], problem: str) -> dict[str, Any]:
    code, report = outcome
    assert code == 1 and not report["ok"], report
    assert problem in report["first_bad"]["problem"], report["first_bad"]
    return report["first_bad"]


def trusted_file(tmp_path: Path, name: str, note: str) -> Path:
    path = tmp_path / name
    path.write_text(note, encoding="utf-8")
    return path


def test_a_log_that_extends_a_trusted_checkpoint_passes(harness: Harness, tmp_path: Path) -> None:
    grow(harness, 3)
    earlier = trusted_file(tmp_path, "earlier.note", harness.system.ledger.checkpoint_now().note)
    size = harness.size
    grow(harness, 3)
    path = tmp_path / "bundle.jsonl"
    export(harness, path)
    code, report = verify(harness, path, "--trusted-checkpoint", str(earlier))
    assert code == 0 and report["ok"], report["first_bad"]
    [anchor] = report["anchors"]["trusted_checkpoints"]
    assert anchor == {"file": str(earlier), "tree_size": size}
    key = harness.init_result["log_public_key"]
    human = cli(harness, "audit", "verify", str(path), "--log-key", key, "--trusted-checkpoint",
                str(earlier))  # fmt: skip
    assert human.exit_code == 0 and f"{ANCHOR_LINE} {earlier} ({size})" in human.stdout


def test_truncation_resealed_with_the_log_key_fails_naming_the_file(
    harness: Harness, tmp_path: Path
) -> None:
    grow(harness, 6)
    path = tmp_path / "bundle.jsonl"
    records = export(harness, path)
    held = trusted_file(tmp_path, "held.note", records[1]["note"])
    size = len(entries(records))
    # The operator drops the last three entries and signs the shortened tree afresh.
    shortened = reseal(harness, records[:-3])
    problem = failed(
        verify(harness, write(path, shortened), "--trusted-checkpoint", str(held)),
        f"the log is shorter than trusted checkpoint {held}",
    )
    assert f"it held {size} entries, the bundle {size - 3}" in problem["problem"]
    # Without the anchor, the shortened log passes: that is what the anchor is for.
    assert verify(harness, path)[0] == 0


def test_a_fork_resealed_with_the_log_key_fails_naming_the_file(
    harness: Harness, tmp_path: Path
) -> None:
    grow(harness, 6)
    path = tmp_path / "bundle.jsonl"
    records = export(harness, path)
    held = trusted_file(tmp_path, "held.note", records[1]["note"])
    size = len(entries(records))
    # The operator swaps the last two registrations and re-signs: every fact still follows
    # from its signed command, so only the held checkpoint can tell the histories apart.
    items = entries(records)
    ends = [i for i, r in enumerate(items) if r["topic"] == COMMAND_RECORDED]
    first, second = items[ends[-3] + 1 : ends[-2] + 1], items[ends[-2] + 1 : ends[-1] + 1]
    start = records.index(first[0])
    records[start : start + len(first) + len(second)] = second + first
    forked = reseal(harness, records)
    bad = failed(
        verify(harness, write(path, forked), "--trusted-checkpoint", str(held)),
        f"the log forked from trusted checkpoint {held}",
    )
    assert bad["index"] == size - 1  # found when the rebuilt tree reaches the anchor's size
    assert verify(harness, path)[0] == 0  # without the anchor the swapped history passes


def test_a_trusted_checkpoint_of_another_key_or_log_is_refused(
    harness: Harness, tmp_path: Path
) -> None:
    grow(harness, 1)
    path = tmp_path / "bundle.jsonl"
    records = export(harness, path)
    note = records[1]["note"]
    stranger = trusted_file(tmp_path, "stranger.note", note.replace("\n— ", "\n— x", 1))
    failed(
        verify(harness, path, "--trusted-checkpoint", str(stranger)),
        f"trusted checkpoint {stranger} is not a checkpoint of this log",
    )
    result = cli(harness, "audit", "verify", str(path), "--log-key",
                 harness.init_result["log_public_key"], "--trusted-checkpoint",
                 str(tmp_path / "missing.note"))  # fmt: skip
    assert result.exit_code == 1 and result.stderr.startswith("error: cannot read trusted")


def test_v1_and_v2_bundles_still_verify_with_the_same_output(
    harness: Harness, tmp_path: Path
) -> None:
    grow(harness, 2)
    path = tmp_path / "bundle.jsonl"
    records = export(harness, path)
    assert records[0]["format"] == "appraisal-audit-bundle/v3"
    key = harness.init_result["log_public_key"]
    v3 = cli(harness, "audit", "verify", str(path), "--log-key", key)
    v3_json = verify(harness, path)
    assert "anchors" not in v3_json[1]  # no anchors given: the report is as before
    for older in ("appraisal-audit-bundle/v2", "appraisal-audit-bundle/v1"):
        write(path, as_format(records, older))
        again = cli(harness, "audit", "verify", str(path), "--log-key", key)
        assert again.exit_code == v3.exit_code == 0 and again.stdout == v3.stdout
        assert verify(harness, path) == v3_json
    # v1 has no cosigned record.
    records.append({"type": "cosigned", "note": records[1]["note"], "proof": []})
    failed(verify(harness, write(path, records)), "unexpected 'cosigned' record")


@pytest.fixture
def witness(harness: Harness, tmp_path: Path):
    vkey = new_witness_key(tmp_path / "w.key", "district.example/witness")
    running = RunningWitness(
        tmp_path / "w.key", [harness.init_result["log_vkey"]], tmp_path / "state", tmp_path / "log"
    )
    running.start()
    yield running, vkey, {"APPRAISAL_WITNESSES": f"{running.url}={vkey}"}
    running.stop()


def test_witness_quorum_on_the_head_or_an_earlier_cosigned_checkpoint(
    harness: Harness, tmp_path: Path, witness
) -> None:
    running, vkey, env = witness
    other = new_witness_key(tmp_path / "other.key", "district.example/witness")
    grow(harness, 3)
    path = tmp_path / "bundle.jsonl"
    records = export(harness, path, env)
    assert [r["type"] for r in records].count("cosigned") == 0  # the head itself is cosigned
    code, report = verify(harness, path, "--witness", vkey, "--witness-quorum", "1")
    assert code == 0, report["first_bad"]
    assert report["anchors"]["cosignatures"] == {"the bundle's checkpoint": [vkey]}
    # A cosignature from another key (same witness name) does not count.
    failed(
        verify(harness, path, "--witness", other, "--witness-quorum", "1"),
        "carries 1 valid cosignature(s) of the given witnesses (the most: 0)",
    )
    failed(verify(harness, path, "--witness", vkey, "--witness", other), "carries 2 valid")
    cosigned_head = records[1]["note"]

    # The witness is down at the next export: the bundle carries the last cosigned
    # checkpoint and a consistency proof from it to the (uncosigned) head.
    running.stop()
    grow(harness, 4)
    records = export(harness, path, env)
    [record] = [r for r in records if r["type"] == "cosigned"]
    assert record["note"] == cosigned_head
    code, report = verify(harness, path, "--witness", vkey)
    assert code == 0, report["first_bad"]
    assert list(report["anchors"]["cosignatures"]) == ["the bundle's cosigned checkpoint"]
    # A proof that does not lead to the head is refused.
    record["proof"][0] = base64.b64encode(b"\0" * 32).decode()
    failed(verify(harness, write(path, records), "--witness", vkey), "is not consistent")
    # Without the record, the same cosigned checkpoint held by the auditor serves.
    records.remove(record)
    write(path, records)
    failed(verify(harness, path, "--witness", vkey), "the most: 0")
    held = trusted_file(tmp_path, "cosigned.note", cosigned_head)
    code, report = verify(harness, path, "--witness", vkey, "--trusted-checkpoint", str(held))
    assert code == 0, report["first_bad"]
    assert report["anchors"]["cosignatures"] == {str(held): [vkey]}


def test_a_forged_cosignature_line_fails_the_audit(
    harness: Harness, tmp_path: Path, witness
) -> None:
    _, vkey, env = witness
    grow(harness, 2)
    path = tmp_path / "bundle.jsonl"
    records = export(harness, path, env)
    note = records[1]["note"]
    last = note.rstrip("\n").rsplit("\n", 1)[1]
    name, encoded = last[2:].split(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[-1] ^= 1  # same key name and ID, signature broken
    records[1]["note"] = note.replace(last, f"— {name} {base64.b64encode(raw).decode()}")
    failed(verify(harness, write(path, records), "--witness", vkey), "bad cosignature")


def test_bad_witness_options_are_one_line_errors(harness: Harness, tmp_path: Path) -> None:
    path = tmp_path / "bundle.jsonl"
    export(harness, path)
    key = harness.init_result["log_public_key"]
    for options in (["--witness", "nope"], ["--witness-quorum", "1"]):
        result = cli(harness, "audit", "verify", str(path), "--log-key", key, *options)
        assert result.exit_code == 1 and result.stderr.startswith("error: ")
