"""`appraisal receipt verify` against a served log (both stores): a real ballot's receipt
passes; a receipt whose envelope, index or leaf was altered fails; with witnesses, the
served checkpoint must carry their cosignatures."""

import base64
import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result

from domain import merkle
from domain.entries import leaf_input
from domain.envelope import seal
from entrypoints.cli import main
from tests.e2e.test_serve import serving
from tests.support import Harness, Signer
from tests.support.scenario import CityCampaign
from tests.witnesses import RunningWitness, new_witness_key

WAIT_SECONDS = 20


def run(receipt: dict[str, Any], tmp_path: Path, log_key: str, base: str, *extra: str) -> Result:
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt, ensure_ascii=False), encoding="utf-8")
    args = ["receipt", "verify", str(path), "--log-key", log_key, "--url", base, *extra]
    return CliRunner().invoke(main, args, catch_exceptions=False)


def rehash(receipt: dict[str, Any]) -> None:
    """Make the receipt's leaf_hash the hash of its (altered) leaf, as a forger would."""
    leaf = receipt["receipt"]["leaf"]
    data = leaf_input(leaf["stream"], leaf["version"], leaf["topic"], leaf["state"])
    receipt["receipt"]["leaf_hash"] = base64.b64encode(merkle.leaf_hash(data)).decode()


def edit_envelope(receipt: dict[str, Any], change) -> None:
    leaf = receipt["receipt"]["leaf"]
    state = json.loads(base64.b64decode(leaf["state"]))
    state["envelope"] = change(state["envelope"])
    encoded = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
    leaf["state"] = base64.b64encode(encoded).decode()


def wait_for_checkpoint(base: str, size: int, cosigned_by: str | None = None) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        note = requests.get(f"{base}/api/v1/ledger/checkpoint", timeout=5).text
        covered = int(note.split("\n")[1]) >= size
        if covered and (cosigned_by is None or f"\n— {cosigned_by} " in note):
            return
        assert time.monotonic() < deadline, note
        time.sleep(0.2)


@pytest.fixture
def ballot(harness: Harness) -> dict[str, Any]:
    """A credential ballot's answer, as the voter's device saved it."""
    c = CityCampaign(harness)
    c.set_up()
    c.open()
    rows = [{"appraisee_id": a, "choice": "competent"} for a in c.appraisees]
    answer = c.cast(c.residents[0], "resident_rep", rows).to_json()
    c.h.register("evaluator")  # the log goes on after the ballot
    return answer


def test_a_real_receipt_passes_and_altered_ones_fail(
    harness: Harness, ballot: dict[str, Any], tmp_path: Path
) -> None:
    log_key = harness.init_result["log_public_key"]
    with serving(harness.system.settings, tmp_path) as (base, _):
        wait_for_checkpoint(base, harness.size)
        ok = run(ballot, tmp_path, log_key, base, "--json")
        assert ok.exit_code == 0, ok.stderr
        shown = json.loads(ok.stdout)
        assert shown["ballot_id"] == ballot["ballot_id"]
        assert shown["ledger_index"] == ballot["receipt"]["ledger_index"]
        assert run(ballot["receipt"], tmp_path, log_key, base).exit_code == 0

        def refused(receipt: dict[str, Any], problem: str) -> None:
            result = run(receipt, tmp_path, log_key, base)
            assert result.exit_code == 1, result.stdout
            assert result.stderr.startswith("error: ") and problem in result.stderr, result.stderr

        # The leaf altered, its hash left: the receipt contradicts itself.
        altered = copy.deepcopy(ballot)
        altered["receipt"]["leaf"]["version"] = 2
        refused(altered, "is not the hash of its leaf input")
        # The leaf altered and re-hashed: not the leaf the signed tree holds at that index.
        rehash(altered)
        refused(altered, "is not this receipt's leaf")
        # The envelope altered (a choice flipped), the leaf re-hashed: the signature fails.
        flipped = copy.deepcopy(ballot)

        def flip(envelope: dict[str, Any]) -> dict[str, Any]:
            envelope["command"]["rows"][0]["choice"] = "incompetent"
            return envelope

        edit_envelope(flipped, flip)
        rehash(flipped)
        refused(flipped, "signature does not verify")
        # Re-signed by another key that claims to be the signer: the key id gives it away,
        forger = Signer()
        resigned = copy.deepcopy(ballot)
        edit_envelope(resigned, lambda envelope: seal(flip(envelope)["command"], forger.key))
        rehash(resigned)
        refused(resigned, "is not the key")
        # and with its own key named, the leaf is not in the signed tree.
        resigned["receipt"]["signer_public_key"] = forger.public_key
        refused(resigned, "is not this receipt's leaf")
        # The index altered: the proof of another position does not lead to the root.
        moved = copy.deepcopy(ballot)
        moved["receipt"]["ledger_index"] -= 1
        refused(moved, "is not this receipt's leaf")
        moved["receipt"]["ledger_index"] = harness.size + 100
        refused(moved, f"not yet entry {harness.size + 100}")
        # A checkpoint signed by another log key is refused.
        other = base64.urlsafe_b64encode(bytes(32)).decode().rstrip("=")
        assert run(ballot, tmp_path, other, base).exit_code == 1


def test_witness_cosignatures_required_when_asked(
    harness: Harness, ballot: dict[str, Any], tmp_path: Path
) -> None:
    log_key = harness.init_result["log_public_key"]
    vkey = new_witness_key(tmp_path / "w.key", "district.example/witness")
    other = new_witness_key(tmp_path / "o.key", "district.example/witness")
    witness = RunningWitness(
        tmp_path / "w.key", [harness.init_result["log_vkey"]], tmp_path / "state", tmp_path / "wl"
    )
    witness.start()
    try:
        env = {"APPRAISAL_WITNESSES": f"{witness.url}={vkey}"}
        with serving(harness.system.settings, tmp_path, env) as (base, _):
            wait_for_checkpoint(base, harness.size, cosigned_by="district.example/witness")
            ok = run(ballot, tmp_path, log_key, base, "--witness", vkey)
            assert ok.exit_code == 0, ok.stderr
            assert "cosigned by 1 witness" in ok.stdout
            wrong = run(ballot, tmp_path, log_key, base, "--witness", other)
            assert wrong.exit_code == 1
            assert "carries 0 of the 1 witness cosignature(s)" in wrong.stderr
    finally:
        witness.stop()
