"""Offline audit bundles on both stores, through the real CLI: export → verify passes; each
kind of tampering, by an outsider or by a log operator who re-signs the tree, is caught with
the bad record named; `audit replay` re-derives a live campaign and diffs its stored results."""

import base64
import json
import multiprocessing
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from eventsourcing.persistence import StoredEvent

import domain.audit
import service.audit
from domain import checkpoint, merkle
from domain.audit import event_mapper
from domain.entries import Entry
from domain.registry import Actor
from entrypoints.cli import main
from service.keyfiles import read_private_key
from tests.integration.test_lifecycle import test_whole_campaign_lifecycle as whole_lifecycle
from tests.support import Harness, RawStore, Signer
from tests.support.bundles import (
    Records,
    as_format,
    entries,
    leaf_hash_at,
    reprove,
    set_leaf_hash,
)
from tests.support.scenario import CityCampaign

PROPOSED = "domain.campaign:Campaign.ResultsProposed"
CAST = "domain.balloting:CastBallot.Cast"


def cli(h: Harness, *args: str) -> Result:
    settings = h.system.settings
    env = {
        "APPRAISAL_DATA_DIR": str(settings.data_dir),
        "APPRAISAL_DATABASE_URL": settings.database_url,
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def export(h: Harness, path: Path, *extra: str) -> Records:
    result = cli(h, "audit", "export", "-o", str(path), "--json", *extra)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tree_size"] == h.size
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def verify(
    h: Harness, path: Path, records: Records | None = None, key: str | None = None
) -> tuple[int, dict[str, Any]]:
    """Run `audit verify --json` (on `records` written to `path`, if given)."""
    if records is not None:
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    log_key = key or h.init_result["log_public_key"]
    result = cli(h, "audit", "verify", str(path), "--log-key", log_key, "--json")
    return result.exit_code, json.loads(result.stdout)


def line_of(records: Records, record: dict[str, Any]) -> int:
    return next(n for n, r in enumerate(records, start=1) if r is record)


def edit_state(record: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> None:
    """Re-encode an entry's stored state after changing its JSON."""
    state = json.loads(base64.b64decode(record["state"]))
    change(state)
    encoded = json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
    record["state"] = base64.b64encode(encoded).decode()


def reseal(h: Harness, records: Records) -> Records:
    """What a dishonest log operator can do: recompute the tree and sign a new checkpoint."""
    root = reprove(records)
    size = len(entries(records))
    header = records[0]
    header["tree_size"] = size
    log_key = read_private_key(h.system.settings.log_key_path)
    origin = header["origin"]
    records[1]["note"] = checkpoint.sign_checkpoint(origin, size, root, origin, log_key)
    return records


def assert_named(outcome: tuple[int, dict[str, Any]], index: int | None, problem: str, line=None):
    code, report = outcome
    assert code == 1 and not report["ok"]
    bad = report["first_bad"]
    assert bad["index"] == index, bad
    assert problem in bad["problem"], bad
    if line is not None:
        assert bad["line"] == line, bad


@pytest.fixture
def published(harness: Harness) -> CityCampaign:
    """A campaign balloted, proposed, approved with an adjustment and published."""
    c = CityCampaign(harness)
    c.set_up()
    c.open()
    c.vote()
    proposal = c.close_and_propose()["proposal_hash"]
    adjustment = {"appraisee_id": c.appraisees[3], "grade": "competent", "reason": "党委会研究决定"}
    c.send(c.committee, "results.approve", proposal_hash=proposal, adjustments=[adjustment])
    c.send(c.h.admin, "results.publish", window_days=0)
    return c


@pytest.fixture
def bundle(published: CityCampaign, tmp_path: Path) -> Records:
    return export(published.h, tmp_path / "bundle.jsonl")


def test_whole_lifecycle_bundle_verifies(harness: Harness, tmp_path: Path) -> None:
    c = CityCampaign(harness)
    c.set_up()
    c.open()
    whole_lifecycle(c)
    path = tmp_path / "bundle.jsonl"
    records = export(harness, path)
    assert [r["type"] for r in records[:2]] == ["header", "checkpoint"]
    assert [r["index"] for r in entries(records)] == list(range(harness.size))
    code, report = verify(harness, path)
    assert code == 0 and report["ok"], report["first_bad"]
    assert report["entries"] == report["tree_size"] == harness.size
    [checked] = report["campaigns"]
    assert checked["campaign_id"] == c.id and checked["status"] == "finalized"
    assert checked["proposals_rederived"] == 2 and checked["results_checked"]
    assert report["ballots_counted"] == checked["ballots_counted"] > 0
    assert report["envelopes_verified"] > 0
    human = cli(
        harness, "audit", "verify", str(path), "--log-key", harness.init_result["log_public_key"]
    )
    assert human.exit_code == 0 and "audit: OK" in human.stdout


def test_changed_state_byte_is_named(
    published: CityCampaign, bundle: Records, tmp_path: Path
) -> None:
    target = entries(bundle)[len(entries(bundle)) // 2]
    state = bytearray(base64.b64decode(target["state"]))
    state[len(state) // 2] ^= 0x01
    target["state"] = base64.b64encode(bytes(state)).decode()
    outcome = verify(published.h, tmp_path / "t.jsonl", bundle)
    assert_named(outcome, target["index"], "does not match the signed checkpoint")


def test_dropped_entry_is_named(published: CityCampaign, bundle: Records, tmp_path: Path) -> None:
    dropped = entries(bundle)[7]
    bundle.remove(dropped)
    outcome = verify(published.h, tmp_path / "t.jsonl", bundle)
    assert_named(outcome, 7, "missing or out of order")


def test_dropped_ballot_is_named_even_when_log_resealed(
    published: CityCampaign, bundle: Records, tmp_path: Path
) -> None:
    ballot = [r for r in entries(bundle) if r["topic"] == CAST][4]
    bundle.remove(ballot)
    outcome = verify(published.h, tmp_path / "t.jsonl", reseal(published.h, bundle))
    # The ballot's command record now stands at its index, with no signed event before it.
    assert_named(outcome, ballot["index"], "follows no signed event")


def test_swapped_entries_are_named(
    published: CityCampaign, bundle: Records, tmp_path: Path
) -> None:
    i, j = 12, 30
    first, second = entries(bundle)[i], entries(bundle)[j]
    a, b = bundle.index(first), bundle.index(second)
    bundle[a], bundle[b] = second, first
    assert_named(verify(published.h, tmp_path / "t.jsonl", bundle), i, "out of order")
    first["index"], second["index"] = j, i  # renumbered, so the order looks right
    outcome = verify(published.h, tmp_path / "t.jsonl", bundle)
    assert_named(outcome, i, "does not match the signed checkpoint")


def _forge_signature(record: dict[str, Any]) -> None:
    def change(state: dict[str, Any]) -> None:
        raw = bytearray(base64.urlsafe_b64decode(state["envelope"]["signature"] + "=="))
        raw[10] ^= 0x40
        state["envelope"]["signature"] = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()

    edit_state(record, change)


def test_forged_envelope_signature_is_named(
    published: CityCampaign, bundle: Records, tmp_path: Path
) -> None:
    ballot = [r for r in entries(bundle) if r["topic"] == CAST][2]
    _forge_signature(ballot)
    outcome = verify(published.h, tmp_path / "t.jsonl", bundle)
    assert_named(outcome, ballot["index"], "does not match the signed checkpoint")
    resealed = verify(published.h, tmp_path / "t.jsonl", reseal(published.h, bundle))
    assert_named(resealed, ballot["index"], "envelope signature does not verify")


def test_wrong_log_key_is_named(published: CityCampaign, bundle: Records, tmp_path: Path) -> None:
    path = tmp_path / "bundle.jsonl"
    outcome = verify(published.h, path, key=Signer().public_key)
    assert_named(outcome, None, "checkpoint rejected with the given log key", line=2)


def test_checkpoint_of_another_tree_is_named(
    published: CityCampaign, bundle: Records, tmp_path: Path
) -> None:
    h = published.h
    older = h.system.app.ledger.checkpoints()[-2]
    assert 0 < older.size < h.size
    bundle[1]["note"] = older.note
    outcome = verify(h, tmp_path / "t.jsonl", bundle)
    assert_named(outcome, None, "a checkpoint of another tree", line=2)

    origin = bundle[0]["origin"]
    log_key = read_private_key(h.system.settings.log_key_path)
    bundle[1]["note"] = checkpoint.sign_checkpoint(origin, h.size, bytes(32), origin, log_key)
    outcome = verify(h, tmp_path / "t.jsonl", bundle)
    assert_named(outcome, None, "or the checkpoint is of another tree; which entry cannot")
    v2 = as_format(bundle, "appraisal-audit-bundle/v2")  # a proof per entry names the first
    assert_named(verify(h, tmp_path / "t.jsonl", v2), 0, "or the checkpoint is of another tree")


def _other_grade(result: dict[str, Any]) -> str:
    return "competent" if result["grade"] == "excellent" else "excellent"


def test_altered_published_grade_is_named(
    published: CityCampaign, bundle: Records, tmp_path: Path
) -> None:
    [summary] = [r for r in bundle if r["type"] == "results"]
    target = summary["results"][1]
    target["grade"] = _other_grade(target)
    outcome = verify(published.h, tmp_path / "t.jsonl", bundle)
    assert_named(outcome, None, f"appraisee {target['appraisee_id']}: grade is", line=len(bundle))


def test_altered_proposed_grade_is_named_even_when_log_resealed(
    published: CityCampaign, bundle: Records, tmp_path: Path
) -> None:
    [proposal] = [r for r in entries(bundle) if r["topic"] == PROPOSED]

    def change(state: dict[str, Any]) -> None:
        state["results"][0]["grade"] = _other_grade(state["results"][0])

    edit_state(proposal, change)
    outcome = verify(published.h, tmp_path / "t.jsonl", reseal(published.h, bundle))
    assert_named(outcome, proposal["index"], "recorded results differ from the re-derivation")


def test_ballot_signed_by_revoked_key_is_named(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = CityCampaign(harness)
    c.set_up()
    c.open()
    leader = c.leaders[0]
    harness.submit(
        harness.admin.envelope("actor.revoke_key", actor_id=leader.actor_id, key_id=leader.key_id)
    )
    # A server bug that forgets revocations: the ballot gets in, the audit must catch it.
    monkeypatch.setattr(Actor, "active_key", lambda self, key_id: self.keys[key_id])
    scores = dict.fromkeys(("morality", "ability", "diligence", "performance", "integrity"), 80)
    receipt = c.cast(
        leader, "leading_group", [{"appraisee_id": a, "scores": scores} for a in c.appraisees]
    )
    monkeypatch.undo()
    records = export(harness, tmp_path / "bundle.jsonl")
    ballot_index = receipt.result["receipt"]["ledger_index"]
    assert entries(records)[ballot_index]["topic"] == CAST
    outcome = verify(harness, tmp_path / "bundle.jsonl")
    assert_named(outcome, ballot_index, "revoked before this position")


def test_campaign_scope_exports_every_entry_and_checks_one_campaign(
    published: CityCampaign, tmp_path: Path
) -> None:
    h = published.h
    other = CityCampaign(h)
    other.set_up()
    path = tmp_path / "scoped.jsonl"
    records = export(h, path, "--campaign", published.id)
    assert len(entries(records)) == h.size
    assert [r["campaign_id"] for r in records if r["type"] == "results"] == [published.id]
    code, report = verify(h, path)
    assert code == 0, report["first_bad"]
    assert [c["campaign_id"] for c in report["campaigns"]] == [published.id]
    everything = export(h, tmp_path / "all.jsonl")
    assert len([r for r in everything if r["type"] == "results"]) == 2


def test_replay_diffs_stored_results(published: CityCampaign) -> None:
    h = published.h
    result = cli(h, "audit", "replay", published.id, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["identical"]

    raw = RawStore(h.system.settings)
    try:
        [(stream, version, state)] = raw.execute(
            "SELECT originator_id, originator_version, state FROM {events} WHERE topic = ?",
            PROPOSED,
        )
        document = json.loads(bytes(state))
        target = document["results"][2]
        target["grade"] = _other_grade(target)
        raw.execute(
            "UPDATE {events} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode(),
            stream,
            version,
        )
    finally:
        raw.close()
    result = cli(h, "audit", "replay", published.id, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert not report["identical"]
    assert report["stored_proposal_hash"] == report["computed_proposal_hash"]
    assert [(d["appraisee_id"], d["field"]) for d in report["differences"]] == [
        (target["appraisee_id"], "grade")
    ]
    human = cli(h, "audit", "replay", published.id)
    assert human.exit_code == 1 and "DIFFERENT" in human.stdout


def test_bad_input_is_one_line_error(
    published: CityCampaign, bundle: Records, tmp_path: Path
) -> None:
    h = published.h
    key = h.init_result["log_public_key"]
    not_a_bundle = tmp_path / "notes.txt"
    not_a_bundle.write_text("hello\n", encoding="utf-8")
    cases = [
        (["audit", "verify", str(tmp_path / "missing.jsonl"), "--log-key", key], "cannot read"),
        (["audit", "verify", str(not_a_bundle), "--log-key", key], "not an audit bundle"),
        (["audit", "verify", str(tmp_path / "bundle.jsonl"), "--log-key", "xyz"], "log key"),
        (["audit", "export", "-o", str(tmp_path / "x.jsonl"), "--campaign", "nope"], "campaign"),
        (["audit", "replay", Signer().actor_id], "no campaign"),
        (["audit", "export", "-o", str(tmp_path / "no" / "x.jsonl")], "cannot write"),
    ]
    for args, message in cases:
        result = cli(h, *args)
        assert result.exit_code == 1, args
        assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_offline_mapper_decodes_like_the_application(
    published: CityCampaign, bundle: Records
) -> None:
    app_mapper = published.h.system.app.mapper
    offline = event_mapper()
    for item in entries(bundle):
        entry = Entry.from_json(item)
        stored = StoredEvent(entry.stream, entry.version, entry.topic, entry.state)
        assert vars(offline.to_domain_event(stored)) == vars(app_mapper.to_domain_event(stored))


def test_a_leaf_hash_altered_alone_proves_nothing_the_root_does_not(
    published: CityCampaign, bundle: Records, tmp_path: Path
) -> None:
    """The rebuilt root proves every entry; a leaf hash is read only to name a bad entry."""
    assert bundle[0]["format"] == "appraisal-audit-bundle/v3"
    set_leaf_hash(bundle, 5, base64.b64encode(bytes(32)).decode())
    code, report = verify(published.h, tmp_path / "t.jsonl", bundle)
    assert code == 0 and report["ok"]


def test_an_altered_entry_is_named_by_its_leaf_hash(
    published: CityCampaign, bundle: Records, tmp_path: Path
) -> None:
    _pad_state(entries(bundle)[5])
    outcome = verify(published.h, tmp_path / "t.jsonl", bundle)
    assert_named(outcome, 5, "the checkpoint's tree holds another leaf at this index")


def test_an_entry_altered_with_its_leaf_hash_fails_but_is_not_named(
    published: CityCampaign, bundle: Records, tmp_path: Path
) -> None:
    """Leaf hashes that do not lead to the signed root name nothing: any could be the
    forged one. The audit still fails, on the root, and says why it names no entry."""
    target = entries(bundle)[-1]  # no later event rests on a tree head that holds it
    _pad_state(target)
    leaf = merkle.leaf_hash(Entry.from_json(target).leaf_input())
    set_leaf_hash(bundle, target["index"], base64.b64encode(leaf).decode())
    outcome = verify(published.h, tmp_path / "t.jsonl", bundle)
    assert_named(outcome, None, "nor do the bundle's leaf hashes")


def test_leaf_hashes_name_only_entries_after_them(
    published: CityCampaign, bundle: Records, tmp_path: Path
) -> None:
    """A leaves record gives the hashes of the entries after it; moved behind them, it
    names none of them, and a v1/v2 bundle has no leaves records at all."""
    _pad_state(entries(bundle)[5])
    leaves = leaf_hash_at(bundle, 5)
    bundle.remove(leaves)
    bundle.insert(bundle.index(entries(bundle)[6]), leaves)
    outcome = verify(published.h, tmp_path / "t.jsonl", bundle)
    assert_named(outcome, 0, "gives no leaf hash for this entry before it")
    old = as_format(json.loads(json.dumps(bundle)), "appraisal-audit-bundle/v2")
    old.insert(2, leaves)
    assert_named(verify(published.h, tmp_path / "t.jsonl", old), None, "unexpected 'leaves'")


def test_an_event_altered_in_the_store_is_named_in_its_export(
    published: CityCampaign, tmp_path: Path
) -> None:
    """The exporter writes the tree's stored leaf hashes, not ones hashed afresh from
    the events: an operator who rewrites a ballot in the database is named."""
    h = published.h
    raw = RawStore(h.system.settings)
    try:
        [(stream, version, state)] = raw.execute(
            "SELECT originator_id, originator_version, state FROM {events} WHERE topic = ? "
            "ORDER BY originator_id LIMIT 1",
            CAST,
        )
        raw.execute(
            "UPDATE {events} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            bytes(state) + b" ",
            stream,
            version,
        )
    finally:
        raw.close()
    records = export(h, tmp_path / "bundle.jsonl")
    [altered] = [r for r in entries(records) if r["stream"] == str(uuid.UUID(str(stream)))]
    assert_named(verify(h, tmp_path / "bundle.jsonl"), altered["index"], "another leaf")


@pytest.mark.parametrize(
    "bundle_format", ["appraisal-audit-bundle/v2", "appraisal-audit-bundle/v1"]
)
def test_bundles_with_inclusion_proofs_still_verify_and_name(
    published: CityCampaign, bundle: Records, tmp_path: Path, bundle_format: str
) -> None:
    h = published.h
    expected = verify(h, tmp_path / "v3.jsonl", bundle)
    old = as_format(json.loads(json.dumps(bundle)), bundle_format)
    assert "leaves" not in [r["type"] for r in old] and entries(old)[0]["proof"]
    assert verify(h, tmp_path / "old.jsonl", old) == expected
    proof = entries(old)[5]["proof"]
    proof[0], kept = base64.b64encode(bytes(32)).decode(), proof[0]
    assert verify(h, tmp_path / "old.jsonl", old) == expected  # the root proves it
    proof[0] = kept
    _pad_state(entries(old)[7])
    assert_named(verify(h, tmp_path / "old.jsonl", old), 7, "does not match the signed checkpoint")


def _pad_state(record: dict[str, Any]) -> None:
    """Change an entry's state without changing what it decodes to."""
    record["state"] = base64.b64encode(base64.b64decode(record["state"]) + b" ").decode()


def _alter_state(records: Records) -> None:
    _pad_state(entries(records)[len(entries(records)) // 2])


def _forge_and_reseal(h: Harness) -> Callable[[Records], None]:
    def forge(records: Records) -> None:
        _forge_signature([r for r in entries(records) if r["topic"] == CAST][3])
        reseal(h, records)

    return forge


def _alter_leaf_hash(records: Records) -> None:
    set_leaf_hash(records, 9, base64.b64encode(bytes(32)).decode())


def _malform_leaf_hash_and_break_order(records: Records) -> None:
    set_leaf_hash(records, 11, ["not a hash"])
    entries(records)[20]["index"] = 21


def test_helper_processes_change_no_report(
    published: CityCampaign, bundle: Records, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the helpers suspect, the report is the one a single process gives."""
    h = published.h
    cases: list[Callable[[Records], None]] = [
        lambda records: None,
        _alter_state,
        _forge_and_reseal(h),
        _alter_leaf_hash,
        _malform_leaf_hash_and_break_order,
        lambda records: entries(records)[3].update(index=4),
    ]
    for tamper in cases:
        records = json.loads(json.dumps(bundle))
        tamper(records)
        path = tmp_path / "t.jsonl"
        parallel = verify(h, path, records)
        with monkeypatch.context() as single:
            single.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
            assert verify(h, path) == parallel


def test_a_helper_that_dies_changes_no_report(
    published: CityCampaign, bundle: Records, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = published.h
    path = tmp_path / "t.jsonl"
    expected = verify(h, path, bundle)
    monkeypatch.setattr(service.audit, "_verify_signatures", lambda jobs, answer: os._exit(3))
    assert verify(h, path) == expected


def test_event_for_a_finalised_campaigns_meeting_is_named(harness: Harness, tmp_path: Path) -> None:
    """The auditor forgets a finalised campaign's meetings, rights and ballots; a stream
    it forgot must still refuse any event that comes after, even in a resealed log."""
    c = CityCampaign(harness)
    c.set_up()
    c.open()
    whole_lifecycle(c)
    records = export(harness, tmp_path / "bundle.jsonl")
    items = entries(records)
    closed = next(r for r in items if r["topic"] == "domain.balloting:Meeting.Closed")
    finalized = next(r for r in items if r["topic"] == "domain.campaign:Campaign.Finalized")
    late = {**closed, "version": closed["version"] + 1}
    records.insert(line_of(records, finalized), late)
    outcome = verify(harness, tmp_path / "t.jsonl", reseal(harness, records))
    assert_named(outcome, finalized["index"] + 1, "belongs to a finalised campaign")


@pytest.mark.parametrize("resident", [1, 0])
def test_spilled_aggregates_replayed_from_the_bundle_give_the_same_report(
    published: CityCampaign,
    bundle: Records,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    resident: int,
) -> None:
    """Ballots, rights, meetings and actors kept as offsets and read back from the file:
    the report, tampered or not, is the one an audit keeping them all whole gives."""
    h = published.h
    for tamper in (lambda records: None, _alter_state, _forge_and_reseal(h)):
        records = json.loads(json.dumps(bundle))
        tamper(records)
        path = tmp_path / "t.jsonl"
        whole = verify(h, path, records)
        with monkeypatch.context() as spilling:
            spilling.setattr(domain.audit, "RESIDENT", resident)
            assert verify(h, path) == whole
