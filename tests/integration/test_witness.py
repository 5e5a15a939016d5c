"""`appraisal witness`: a real witness process cosigning real logs, forks refused across
restarts, and the log side that submits and keeps cosignatures (both stores)."""

import base64
import os
import shutil
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import merkle
from domain.checkpoint import parse_vkey, sign_checkpoint, verifier_key
from domain.cosignature import parse_cosigner_vkey
from domain.tree_check import TreeRebuilder
from domain.witness import OldSizeMismatch
from entrypoints.cli import main
from service.settings import Settings, SettingsError
from service.system import System
from service.witness import Witness, origin_hash
from service.witnessing import WitnessUnavailable
from tests.support import Harness
from tests.witnesses import new_witness_key, running_witness, spec_verify_cosignature

OTHER_ORIGIN = "city.example/street-b"


def grow(h: Harness, n: int = 2) -> None:
    for _ in range(n):
        h.register("evaluator")


def witnessed(settings: Settings, url: str, vkey: str, quorum: int = 1) -> System:
    """The same store opened with a witness configured, as `appraisal serve` would."""
    return System.open(replace(settings, witnesses=((url, vkey),), witness_quorum=quorum))


def other_log(tmp_path: Path, name: str, *, origin: str | None, key_from: Path | None) -> Settings:
    """A second log on SQLite; with `key_from`, the same log key (and origin) as another."""
    data = tmp_path / name
    data.mkdir(parents=True)
    if key_from is not None:
        shutil.copy(key_from, data / "log.key")
    env = {"APPRAISAL_DATA_DIR": str(data)}
    if origin is not None:
        env["APPRAISAL_LOG_ORIGIN"] = origin
    return Settings.from_env(env)


def test_new_key_is_private_and_prints_a_cosigner_vkey(tmp_path: Path) -> None:
    runner = CliRunner()
    key = tmp_path / "w.key"
    done = runner.invoke(main, ["witness", "new-key", "--name", "district.example/w", "-o", key])
    assert done.exit_code == 0, done.output
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    vkey = parse_cosigner_vkey(done.stdout.strip())
    assert vkey.name == "district.example/w"
    again = runner.invoke(main, ["witness", "new-key", "--name", "x", "-o", key])
    assert again.exit_code == 1 and again.stderr.startswith("error: ")
    bad = runner.invoke(main, ["witness", "new-key", "--name", "a b", "-o", tmp_path / "n.key"])
    assert bad.exit_code == 1 and "invalid key name" in bad.stderr
    assert not (tmp_path / "n.key").exists()


def test_serve_refuses_a_bad_log_vkey(tmp_path: Path) -> None:
    runner = CliRunner()
    key = tmp_path / "w.key"
    runner.invoke(main, ["witness", "new-key", "--name", "district.example/w", "-o", key])
    args = ["witness", "serve", "--key", str(key), "--state", str(tmp_path / "s"), "--port", "1"]
    done = runner.invoke(main, [*args, "--log", "street.example+00000000+AAAA"])
    assert done.exit_code == 1 and done.stderr.startswith("error: --log:")
    done = runner.invoke(main, [*args[:3], str(tmp_path / "none"), *args[4:], "--log", "x"])
    assert done.exit_code == 1 and "cannot read witness key" in done.stderr


def test_two_logs_one_witness_forks_refused_across_restarts(
    harness: Harness, tmp_path: Path
) -> None:
    settings = harness.system.settings
    log_a = harness.init_result["log_vkey"]
    b_settings = other_log(tmp_path, "b", origin=OTHER_ORIGIN, key_from=None)
    with (
        Harness.initialised(b_settings) as b,
        running_witness(tmp_path / "witness", [log_a, b.init_result["log_vkey"]]) as (
            witness,
            vkey,
        ),
    ):
        assert parse_vkey(b.init_result["log_vkey"]).name == OTHER_ORIGIN
        # Two logs, two data dirs (one on each store here), one witness.
        for h in (harness, b):
            grow(h)
            system = witnessed(h.system.settings, witness.url, vkey)
            try:
                head = system.witnessing.tree_head()
                stored = system.ledger.recorder.checkpoint_at(head["tree_size"])
                note = system.ledger.cosigned_note(stored)
            finally:
                system.close()
            assert spec_verify_cosignature(note, vkey) > 0
        # A's log grows; the witness takes it with a consistency proof from what it holds.
        first = harness.system.ledger.recorder.latest_checkpoint()
        grow(harness, 3)
        system = witnessed(settings, witness.url, vkey)
        try:
            grown = system.witnessing.tree_head()["tree_size"]
        finally:
            system.close()
        assert grown > first.size
        monitored = witness.add_checkpoint(0, [], first.note)
        assert monitored.status_code == 409 and monitored.text == f"{grown}\n"

        # A fork: the same log key and origin over another history, longer than A's.
        fork_settings = other_log(tmp_path, "fork", origin=None, key_from=settings.log_key_path)
        fork_settings = replace(fork_settings, log_origin=settings.log_origin)
        with Harness.initialised(fork_settings) as fork:
            grow(fork, 8)
            forked = fork.system.ledger.checkpoint_now()
            assert forked.size > grown
            proof = fork.system.ledger.consistency_proof(grown, forked.size)

            def refused() -> None:
                unknown_size = witness.add_checkpoint(0, [], forked.note)
                assert unknown_size.status_code == 409
                assert unknown_size.headers["Content-Type"] == "text/x.tlog.size"
                assert unknown_size.text == f"{grown}\n"
                inconsistent = witness.add_checkpoint(grown, proof, forked.note)
                assert inconsistent.status_code == 422, inconsistent.text

            refused()
            witness.restart()
            refused()
            # The fork's own log side cannot get a head cosigned: its tallies would be refused.
            system = witnessed(fork_settings, witness.url, vkey)
            try:
                with pytest.raises(WitnessUnavailable):
                    system.witnessing.tree_head()
            finally:
                system.close()
        # After the restart the honest log still goes on from the size the witness kept.
        grow(harness, 2)
        system = witnessed(settings, witness.url, vkey)
        try:
            assert system.witnessing.tree_head()["tree_size"] > grown
        finally:
            system.close()
        held = witness.add_checkpoint(0, [], first.note)
        assert int(held.text) > grown
        monitor = f"{witness.url}/{origin_hash(settings.log_origin)}/checkpoint"
        assert spec_verify_cosignature(requests.get(monitor, timeout=5).text, vkey) > 0


def test_spec_statuses_for_bad_requests(harness: Harness, tmp_path: Path) -> None:
    with running_witness(tmp_path / "w", [harness.init_result["log_vkey"]]) as (witness, _):
        note = harness.system.ledger.checkpoint_now().note
        assert witness.add_checkpoint(5, [], note).status_code == 400  # old beyond size
        forged = note.replace("\n— ", "\n— x", 1)
        stranger = forged.replace(harness.system.settings.log_origin, "stranger.example/log")
        assert witness.add_checkpoint(0, [], stranger).status_code == 404
        unsigned = note[: note.rindex("\n\n") + 2] + "— other.example AAAAAAAA\n"
        assert witness.add_checkpoint(0, [], unsigned).status_code == 403
        assert witness.add_checkpoint(0, [b"\0" * 32], note).status_code == 422
        garbage = requests.post(f"{witness.url}/add-checkpoint", data=b"\xff\xfe", timeout=5)
        assert garbage.status_code == 400
        huge = requests.post(f"{witness.url}/add-checkpoint", data=b"o" * 70_000, timeout=5)
        assert huge.status_code == 413
        accepted = witness.add_checkpoint(0, [], note)
        assert accepted.status_code == 200
        assert accepted.text.startswith("\u2014 district.example/witness ")


def test_witness_settings_are_checked() -> None:
    good = "http://127.0.0.1:9=w.example+01020304+BAAA"
    settings = Settings.from_env({"APPRAISAL_WITNESSES": f"{good} https://b.example/w=v2"})
    assert settings.witness_quorum == 2
    assert settings.witnesses[0] == ("http://127.0.0.1:9", "w.example+01020304+BAAA")
    for env in (
        {"APPRAISAL_WITNESSES": "ftp://x=v"},
        {"APPRAISAL_WITNESSES": "http://x"},
        {"APPRAISAL_WITNESSES": f"{good} {good}"},
        {"APPRAISAL_WITNESSES": good, "APPRAISAL_WITNESS_QUORUM": "2"},
        {"APPRAISAL_WITNESSES": good, "APPRAISAL_WITNESS_QUORUM": "0"},
        {"APPRAISAL_WITNESS_QUORUM": "1"},
    ):
        with pytest.raises(SettingsError):
            Settings.from_env(env)


def test_a_bad_witness_vkey_fails_at_start(harness: Harness) -> None:
    with pytest.raises(SettingsError, match="APPRAISAL_WITNESSES"):
        witnessed(harness.system.settings, "http://127.0.0.1:9", "w.example+01020304+BAAA")


def test_an_answer_from_another_key_is_not_kept(harness: Harness, tmp_path: Path) -> None:
    """A witness answering with another key's cosignature gets nothing stored."""
    log_vkey = harness.init_result["log_vkey"]
    with running_witness(tmp_path / "real", [log_vkey]) as (witness, _):
        # Same name, another key: what the log expects is not what the witness signs with.
        expected = new_witness_key(tmp_path / "other.key", "district.example/witness")
        system = witnessed(harness.system.settings, witness.url, expected)
        try:
            with pytest.raises(WitnessUnavailable):
                system.witnessing.tree_head()
            latest = system.ledger.recorder.latest_checkpoint()
            assert system.ledger.recorder.cosignatures_at(latest.size) == {}
        finally:
            system.close()


def test_concurrent_requests_never_roll_the_state_back(tmp_path: Path) -> None:
    """The race of C2SP tlog-witness: requests from one old size for many new sizes at once.

    Exactly one may win; every other one is told the winner's size; the state never goes
    back, also for a second Witness over the same state directory (another process).
    """
    log_key = Ed25519PrivateKey.generate()
    origin = "street.example/log"
    vkey = verifier_key(origin, log_key.public_key().public_bytes_raw())
    tree = [merkle.leaf_hash(bytes([i])) for i in range(40)]
    witnesses = [
        Witness("w.example", key, [vkey], tmp_path / "state")
        for key in [Ed25519PrivateKey.generate()] * 2
    ]
    first = sign_checkpoint(origin, 8, merkle.mth(tree[:8]), origin, log_key)
    witnesses[0].add_checkpoint(f"old 0\n\n{first}".encode())

    def submit(size: int) -> str:
        note = sign_checkpoint(origin, size, merkle.mth(tree[:size]), origin, log_key)
        proof = "".join(base64.b64encode(h).decode() + "\n" for h in consistency(8, size, tree))
        try:
            witnesses[size % 2].add_checkpoint(f"old 8\n{proof}\n{note}".encode())
        except OldSizeMismatch as refusal:
            return f"409 {refusal.size}"
        return f"200 {size}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(submit, range(9, 40)))
    [won] = [a for a in answers if a.startswith("200")]
    size = int(won.split()[1])
    assert all(a == f"409 {size}" for a in answers if a != won)
    assert witnesses[1].latest(origin).checkpoint.size == size


def consistency(old: int, new: int, tree: list[bytes]) -> list[bytes]:
    nodes: dict[merkle.NodeId, bytes] = {}
    rebuilt = TreeRebuilder()
    for leaf in tree[:new]:
        nodes.update(rebuilt.add(leaf))
    return merkle.resolve(merkle.consistency_plan(old, new), nodes)
