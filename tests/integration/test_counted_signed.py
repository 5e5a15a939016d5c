"""Counted = signed, on both stores: a log operator holding the store and the log key
changes a stored fact that a signed envelope (or the signed events it follows from)
contradicts, re-seals everything it can — leaves, nodes, the tree heads events rest on,
the checkpoint — and `audit verify` still names the event and the field. Each attack is
also shown passing when the provenance check is switched off, so no test here can pass
for another reason."""

import base64
import bisect
import copy
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import domain.provenance
from domain import checkpoint, merkle
from domain.derivation import derive
from domain.entries import Entry
from domain.tree_check import TreeRebuilder
from entrypoints.cli import main
from service.derivation_inputs import load_inputs
from service.keyfiles import read_private_key
from service.settings import Settings
from service.system import System
from tests.conftest import postgres_schema_url
from tests.integration.test_audit import cli, edit_state, entries, export, verify
from tests.integration.test_lifecycle import test_whole_campaign_lifecycle as whole_lifecycle
from tests.support import Harness, RawStore, Signer
from tests.support.bundles import reprove
from tests.support.scenario import CityCampaign

Records = list[dict[str, Any]]
CAST = "domain.balloting:CastBallot.Cast"


def topic(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda record: record["topic"].endswith(name)


def state_of(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(record["state"]))


def encode(state: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def reseal_everything(h: Harness, records: Records) -> Records:
    """What a dishonest operator with the log key does after changing entries: renumber,
    recompute every tree head an event records (and every answer that repeats one),
    rebuild the tree and sign a checkpoint of it."""
    items = entries(records)
    tree = TreeRebuilder()
    roots = {0: merkle.EMPTY_ROOT}
    kept = sorted(item["index"] for item in items)  # indexes before renumbering

    def rehead(value: Any) -> bool:
        changed = False
        if isinstance(value, dict):
            if isinstance(value.get("tree_size"), int) and "root" in value:
                size = bisect.bisect_left(kept, value["tree_size"])  # what is left of it
                root = base64.b64encode(roots[size]).decode()
                changed = (value["tree_size"], value["root"]) != (size, root)
                value["tree_size"], value["root"] = size, root
            return any([rehead(v) for v in value.values()]) or changed
        if isinstance(value, list):
            return any([rehead(v) for v in value])
        return False

    for item in items:
        state = state_of(item)
        if rehead(state):
            item["state"] = encode(state)
        tree.add(merkle.leaf_hash(Entry.from_json(item).leaf_input()))
        roots[tree.size] = tree.root()
    root = reprove(records)
    records[0]["tree_size"] = len(items)
    origin = records[0]["origin"]
    key = read_private_key(h.system.settings.log_key_path)
    records[1]["note"] = checkpoint.sign_checkpoint(origin, len(items), root, origin, key)
    return records


# --- one ledger per store: a whole campaign, then a second one the bundle is scoped to ------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def ledger(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Harness, CityCampaign, Records]]:
    """The first campaign runs its whole life (reports, ballots of every kind, close,
    proposal, approval with an adjustment, a dispute voiding a ballot, a second approval,
    finalisation with grade history, feedback, rectification). The bundle's scope is a
    second campaign, so the first one's proposals are not re-derived: whatever the
    attacks below change, only the provenance check stands between them and a pass."""
    data_dir = tmp_path_factory.mktemp(request.param) / "data"
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'appraisal.sqlite3'}"
    else:
        url = postgres_schema_url(request.getfixturevalue("postgres_database"))
    settings = Settings.from_env(
        {"APPRAISAL_DATA_DIR": str(data_dir), "APPRAISAL_DATABASE_URL": url}
    )
    with ExitStack() as stack:
        h = stack.enter_context(Harness.initialised(settings))
        c = CityCampaign(h)
        c.set_up()
        c.open()
        whole_lifecycle(c)
        other = CityCampaign(h)
        other.set_up()
        records = export(h, data_dir.parent / "bundle.jsonl", "--campaign", other.id)
        yield h, c, records


def first(records: Records, match: Callable[[dict[str, Any]], bool], nth: int = 0) -> dict:
    return [r for r in entries(records) if match(r)][nth]


def change(record: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    edit_state(record, edit)
    return record


def record_of(records: Records, command_type: str) -> dict[str, Any]:
    return first(
        records,
        lambda r: (
            topic("CommandRecord.Accepted")(r) and state_of(r)["command_type"] == command_type
        ),
    )


def ballot_of_group(group: str) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r["topic"] == CAST and state_of(r)["group"] == group


def _flip_choice(records: Records) -> tuple[dict, str]:
    def flip(s: dict) -> None:
        s["rows"][0]["choice"] = "incompetent"

    return change(first(records, ballot_of_group("resident_rep")), flip), "rows"


def _raise_named_scores(records: Records) -> tuple[dict, str]:
    def raise_scores(s: dict) -> None:
        s["rows"][3]["scores"]["morality"] = 100

    return change(first(records, ballot_of_group("leading_group")), raise_scores), "rows"


def _recategorise(records: Records) -> tuple[dict, str]:
    def move(s: dict) -> None:
        s["appraisees"][1]["category"] = "village"

    return change(first(records, topic("AppraiseesAdded")), move), "appraisees"


def _adjust_differently(records: Records) -> tuple[dict, str]:
    def regrade(s: dict) -> None:
        s["adjustments"][0]["grade"] = "excellent"

    return change(first(records, topic("ApprovalSigned")), regrade), "adjustments"


def _issue_more(records: Records) -> tuple[dict, str]:
    def more(s: dict) -> None:
        s["issued"]["resident_rep"] += 1

    return change(first(records, topic("Meeting.Opened")), more), "issued"


def _swap_credential_key(records: Records) -> tuple[dict, str]:
    """An issued credential's key replaced by one the operator holds (no envelope)."""

    def swap(s: dict) -> None:
        s["public_key"] = Signer().public_key

    issued = first(records, lambda r: topic("BallotRight.Issued")(r) and state_of(r)["public_key"])
    return change(issued, swap), "public_key"


def _move_right_to_group(records: Records) -> tuple[dict, str]:
    def move(s: dict) -> None:
        s["group"] = "unit_rep"

    paper = first(
        records, lambda r: topic("BallotRight.Issued")(r) and state_of(r)["kind"] == "paper"
    )
    return change(paper, move), "group"


def _spend_for_another_ballot(records: Records) -> tuple[dict, str]:
    def other(s: dict) -> None:
        s["ballot_id"] = str(uuid.uuid4())

    return change(first(records, topic("BallotRight.Spent"), 2), other), "ballot_id"


def _unvoid(records: Records) -> tuple[dict, str]:
    def keep(s: dict) -> None:
        s["voided"] = []

    return change(first(records, topic("DisputeResolved")), keep), "voided"


def _void_for_another_reason(records: Records) -> tuple[dict, str]:
    def reason(s: dict) -> None:
        s["reason"] = "重复投票"

    return change(first(records, topic("CastBallot.Voided")), reason), "reason"


def _answer_valid(records: Records) -> tuple[dict, str]:
    """The invalid resident ballot's command record answers `valid: true`."""

    def valid(s: dict) -> None:
        s["result"]["valid"] = True

    invalid = first(
        records,
        lambda r: (
            topic("CommandRecord.Accepted")(r) and state_of(r)["result"].get("valid") is False
        ),
    )
    return change(invalid, valid), "result"


def _receipt_for_another(records: Records) -> tuple[dict, str]:
    def other(s: dict) -> None:
        s["receipt_for"] = str(uuid.uuid4())

    return change(record_of(records, "ballot.cast"), other), "receipt_for"


def _rebind_key(records: Records) -> tuple[dict, str]:
    def rebind(s: dict) -> None:
        s["holder_id"] = str(uuid.uuid4())

    return change(first(records, topic("KeyBinding.Bound"), 3), rebind), "holder_id"


def _rebind_genesis_key(records: Records) -> tuple[dict, str]:
    def rebind(s: dict) -> None:
        s["holder_id"] = str(uuid.uuid4())

    return change(entries(records)[1], rebind), "holder_id"


def _regrade_history(records: Records) -> tuple[dict, str]:
    def regrade(s: dict) -> None:
        s["grade"] = "incompetent" if s["grade"] != "incompetent" else "excellent"

    return change(first(records, topic("GradeHistory.GradeRecorded")), regrade), "grade"


def _escalate_roles(records: Records) -> tuple[dict, str]:
    """An evaluator's registration records it as an admin as well."""

    def escalate(s: dict) -> None:
        s["roles"] = sorted({*s["roles"], "admin"})

    registered = first(records, topic("Actor.Registered"), 5)
    return change(registered, escalate), "roles"


def _extend_window(records: Records) -> tuple[dict, str]:
    def extend(s: dict) -> None:
        s["window_ends"] = "2099-01-01T00:00:00+00:00"

    return change(first(records, topic("ResultsPublished")), extend), "window_ends"


def _backdate_progress(records: Records) -> tuple[dict, str]:
    def backdate(s: dict) -> None:
        s["on"] = "2020-01-01"

    return change(first(records, topic("ProgressReported")), backdate), "on"


def _rewrite_report(records: Records) -> tuple[dict, str]:
    def rewrite(s: dict) -> None:
        s["parts"][0]["text"] = "改写的述职报告"

    return change(first(records, topic("Report.Submitted")), rewrite), "parts"


def _reconcile_differently(records: Records) -> tuple[dict, str]:
    def hide(s: dict) -> None:
        s["reconciliation"]["resident_rep"]["invalid"] = 0

    return change(first(records, topic("Meeting.Closed")), hide), "reconciliation"


def _move_ballot_to_another_right(records: Records) -> tuple[dict, str]:
    """A ballot recorded as spending a right its command does not name."""
    ballots = [r for r in entries(records) if ballot_of_group("resident_rep")(r)]
    other = state_of(ballots[1])["right"]

    def move(s: dict) -> None:
        s["right"] = other

    return change(ballots[0], move), "right"


# attack -> (how, whether only the provenance check catches it: some are also caught by
# the audit's older checks of ballots and key bindings, which the provenance rule now
# precedes)
ALTERED: dict[str, tuple[Callable[[Records], tuple[dict, str]], bool]] = {
    "flipped choice": (_flip_choice, True),
    "named ballot's scores": (_raise_named_scores, True),
    "roster category": (_recategorise, True),
    "approval adjustments": (_adjust_differently, True),
    "meeting's issued credentials": (_issue_more, True),
    "issued credential's key": (_swap_credential_key, False),
    "issued right's group": (_move_right_to_group, False),
    "spent right's ballot": (_spend_for_another_ballot, False),
    "dispute's voided ballots": (_unvoid, True),
    "voided ballot's reason": (_void_for_another_reason, True),
    "command record's result": (_answer_valid, True),
    "command record's receipt": (_receipt_for_another, True),
    "key binding's holder": (_rebind_key, False),
    "genesis key binding": (_rebind_genesis_key, False),
    "grade history": (_regrade_history, True),
    "registered roles": (_escalate_roles, True),
    "publication window": (_extend_window, True),
    "progress date": (_backdate_progress, True),
    "report text": (_rewrite_report, True),
    "meeting reconciliation": (_reconcile_differently, True),
    "ballot's right": (_move_ballot_to_another_right, False),
}


def run(h: Harness, path: Path, records: Records) -> tuple[int, dict[str, Any]]:
    return verify(h, path, reseal_everything(h, records))


def without_provenance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(domain.provenance, "disagreement", lambda topic, occasion: None)


def test_the_untouched_bundle_verifies_and_says_what_it_always_said(ledger, tmp_path) -> None:
    h, _, records = ledger
    code, report = run(h, tmp_path / "b.jsonl", copy.deepcopy(records))
    assert code == 0 and report["ok"], report["first_bad"]
    human = cli(
        h,
        "audit",
        "verify",
        str(tmp_path / "b.jsonl"),
        "--log-key",
        h.init_result["log_public_key"],
    )
    assert human.exit_code == 0 and human.stdout.startswith("audit: OK")


@pytest.mark.parametrize("attack", ALTERED, ids=list(ALTERED))
def test_an_altered_fact_is_named_even_when_resealed(
    ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attack: str
) -> None:
    h, _, records = ledger
    tampered = copy.deepcopy(records)
    alter, alone = ALTERED[attack]
    target, field = alter(tampered)
    code, report = run(h, tmp_path / "t.jsonl", tampered)
    bad = report["first_bad"]
    assert code == 1 and bad is not None, attack
    assert (bad["index"], bad["stream"], bad["version"], bad["field"]) == (
        target["index"],
        target["stream"],
        target["version"],
        field,
    ), bad
    assert "disagrees with" in bad["problem"], bad
    without_provenance(monkeypatch)
    code, report = run(h, tmp_path / "t.jsonl", tampered)
    if alone:
        assert code == 0, f"{attack} is caught by another check: {report['first_bad']}"
    else:
        assert code == 1 and report["first_bad"]["index"] >= target["index"], report["first_bad"]


def _insert_after(records: Records, anchor: dict, record: dict) -> dict:
    records.insert(records.index(anchor) + 1, record)
    return record


def _forge_issued_right(records: Records) -> dict:
    """An extra credential right slipped into the meeting's opening, for the operator's key."""
    issued = first(records, topic("BallotRight.Issued"))
    forged = copy.deepcopy(issued)
    forged["stream"] = str(uuid.uuid4())
    forged["state"] = encode({**state_of(issued), "public_key": Signer().public_key})
    return _insert_after(records, issued, forged)


def _forge_expiry(records: Records) -> dict:
    """A spent right expired at the close, as if its ballot had never been cast."""
    spent = first(records, topic("BallotRight.Spent"))
    close = record_of(records, "balloting.close")
    state = state_of(spent)
    del state["ballot_id"]
    forged = {
        **copy.deepcopy(spent),
        "version": 3,
        "topic": spent["topic"].replace("Spent", "Expired"),
    }
    forged["state"] = encode(state)
    records.insert(records.index(close), forged)
    return forged


def _forge_grade(records: Records) -> dict:
    """A second grade recorded in the finalisation for someone already graded."""
    graded = first(records, topic("GradeHistory.GradeRecorded"))
    forged = {**copy.deepcopy(graded), "version": graded["version"] + 1}
    return _insert_after(records, graded, forged)


FORGED = {
    "issued right": (_forge_issued_right, "is not one the command issues"),
    "expired right": (_forge_expiry, "which is spent, not unused"),
    "grade record": (_forge_grade, "grades not (again)"),
}


@pytest.mark.parametrize("attack", FORGED, ids=list(FORGED))
def test_a_forged_unsigned_event_is_named_even_when_resealed(
    ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attack: str
) -> None:
    h, _, records = ledger
    tampered = copy.deepcopy(records)
    forge, problem = FORGED[attack]
    forged = forge(tampered)
    code, report = run(h, tmp_path / "t.jsonl", tampered)
    bad = report["first_bad"]
    assert code == 1 and problem in bad["problem"], bad
    assert (bad["index"], bad["stream"], bad["version"]) == (
        forged["index"],
        forged["stream"],
        forged["version"],
    ), bad
    without_provenance(monkeypatch)
    code, report = run(h, tmp_path / "t.jsonl", tampered)
    assert code == 0, f"{attack} is caught by another check: {report['first_bad']}"


# --- the attack of issue 14, on the live store ---------------------------------------------


def _reseal_store(h: Harness, raw: RawStore) -> None:
    """Rebuild every node from the stored events and re-sign every checkpoint."""
    recorder = h.system.app.ledger
    rows = recorder.ledger_entries(0, h.size)
    tree = TreeRebuilder()
    nodes: dict[merkle.NodeId, bytes] = {}
    roots = {0: merkle.EMPTY_ROOT}
    for row in rows:
        entry = Entry(row["stream"], row["version"], row["topic"], row["state"])
        nodes.update(tree.add(merkle.leaf_hash(entry.leaf_input())))
        roots[tree.size] = tree.root()
    raw.execute("DELETE FROM {ledger_nodes}")
    for (level, index), digest in nodes.items():
        raw.execute(
            "INSERT INTO {ledger_nodes} (level, node_index, hash) VALUES (?, ?, ?)",
            level,
            index,
            digest,
        )
    key = read_private_key(h.system.settings.log_key_path)
    origin = h.system.settings.log_origin
    for (size,) in raw.execute("SELECT tree_size FROM {ledger_checkpoints}"):
        note = checkpoint.sign_checkpoint(origin, size, roots[size], origin, key)
        raw.execute(
            "UPDATE {ledger_checkpoints} SET root = ?, note = ? WHERE tree_size = ?",
            roots[size],
            note,
            size,
        )


def test_a_flipped_choice_in_the_store_is_not_counted_and_is_named(
    harness: Harness, tmp_path: Path
) -> None:
    """With the store and the log key: one resident ballot's plain choice flipped, the
    nodes rebuilt, the checkpoints re-signed. `ledger verify` passes — the tree is the
    operator's to rebuild — but the tally still counts the signed choice, and the audit
    names the ballot and its field."""
    c = CityCampaign(harness)
    c.set_up()
    c.open()
    c.vote()
    app = harness.system.app
    campaign = app.find(uuid.UUID(c.id))
    honest = derive(campaign, load_inputs(app, campaign)).proposal_hash
    raw = RawStore(harness.system.settings)
    try:
        ballot = next(b for b in c.ballots if b.group == "resident_rep")
        [(stream, version, document)] = [
            (stream, version, json.loads(bytes(state)))
            for stream, version, state in raw.execute(
                "SELECT originator_id, originator_version, state FROM {events} WHERE topic = ?",
                CAST,
            )
            if json.loads(bytes(state))["envelope"]["command"]["ballot_id"] == ballot.ballot_id
        ]
        assert document["rows"][0]["choice"] == "competent"
        document["rows"][0]["choice"] = "incompetent"
        raw.execute(
            "UPDATE {events} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode(),
            stream,
            version,
        )
        _reseal_store(harness, raw)
    finally:
        raw.close()
    settings = harness.system.settings
    env = {
        "APPRAISAL_DATA_DIR": str(settings.data_dir),
        "APPRAISAL_DATABASE_URL": settings.database_url,
    }
    ledger_check = CliRunner().invoke(main, ["ledger", "verify", "--json"], env=env)
    assert ledger_check.exit_code == 0, ledger_check.output
    reopened = System.open(settings)
    try:
        campaign = reopened.app.find(uuid.UUID(c.id))
        assert derive(campaign, load_inputs(reopened.app, campaign)).proposal_hash == honest
    finally:
        reopened.close()
    records = export(harness, tmp_path / "bundle.jsonl")
    target = first(records, lambda r: r["topic"] == CAST and r["stream"] == ballot.ballot_id)
    code, report = verify(harness, tmp_path / "bundle.jsonl")
    bad = report["first_bad"]
    assert code == 1 and (bad["index"], bad["field"]) == (target["index"], "rows"), bad
    assert bad["stream"] == ballot.ballot_id and bad["version"] == 1


def _drop(records: Records, *dropped: dict) -> None:
    for record in dropped:
        records.remove(record)


def _drop_unused_credential(records: Records) -> dict:
    """The unused resident credential never issued (nor expired): one slip fewer."""
    used = {state_of(r)["right"] for r in entries(records) if r["topic"] == CAST}
    issued = next(
        r
        for r in entries(records)
        if topic("BallotRight.Issued")(r)
        and state_of(r)["kind"] == "credential"
        and r["stream"] not in used
    )
    binding = next(
        r
        for r in entries(records)
        if topic("KeyBinding.Bound")(r) and state_of(r)["holder_id"] == issued["stream"]
    )
    expiry = next(
        r for r in entries(records) if r["stream"] == issued["stream"] and r is not issued
    )
    _drop(records, issued, binding, expiry)
    return record_of(records, "balloting.open")


def _drop_expiry(records: Records) -> dict:
    _drop(records, first(records, topic("BallotRight.Expired")))
    return record_of(records, "balloting.close")


def _drop_voiding(records: Records) -> dict:
    _drop(records, first(records, topic("CastBallot.Voided")))
    return record_of(records, "dispute.resolve")


def _drop_grade(records: Records) -> dict:
    _drop(records, first(records, topic("GradeHistory.GradeRecorded"), 1))
    return record_of(records, "results.finalize")


DROPPED = {
    "unused credential's issue": (_drop_unused_credential, "never wrote right"),
    "right's expiry": (_drop_expiry, "never wrote the expiry of unused right"),
    "ballot's voiding": (_drop_voiding, "never wrote the voiding of ballot"),
    "grade record": (_drop_grade, "never wrote the grade of"),
}


@pytest.mark.parametrize("attack", DROPPED, ids=list(DROPPED))
def test_a_dropped_unsigned_event_is_named_at_its_command_record(
    ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attack: str
) -> None:
    h, _, records = ledger
    tampered = copy.deepcopy(records)
    drop, problem = DROPPED[attack]
    record = drop(tampered)
    code, report = run(h, tmp_path / "t.jsonl", tampered)
    bad = report["first_bad"]
    assert code == 1 and problem in bad["problem"], bad
    assert (bad["index"], bad["stream"]) == (record["index"], record["stream"]), bad
    without_provenance(monkeypatch)
    code, report = run(h, tmp_path / "t.jsonl", tampered)
    assert code == 0, f"{attack} is caught by another check: {report['first_bad']}"
