"""`make bench-full` keeps its large cities between runs: a kept city is reused only when
the code that made it is unchanged and its ledger is as it was left."""

import json
import uuid
from pathlib import Path

import pytest

from bench import city, stores

COMMUNITIES = 2


@pytest.fixture
def kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fingerprint = f"t{uuid.uuid4().hex[:10]}"
    monkeypatch.setattr(city, "KEPT_FROM", COMMUNITIES)
    monkeypatch.setattr(city, "KEPT_DIR", tmp_path / "cities")
    monkeypatch.setattr(city, "_code_fingerprint", lambda: fingerprint)
    monkeypatch.setattr(city, "_cities", {})
    yield fingerprint
    stores.drop_kept_databases(f"bench_city_{COMMUNITIES}_{fingerprint}")


def _generations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    made: list[int] = []
    generate = city.generate

    def counted(settings, communities):
        made.append(communities)
        return generate(settings, communities)

    monkeypatch.setattr(city, "generate", counted)
    return made


def test_a_kept_city_is_reused_until_its_ledger_or_code_changes(
    kept: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _generations(monkeypatch)
    first = city.of(COMMUNITIES)
    assert made == [COMMUNITIES] and first.ledger_size > 0

    monkeypatch.setattr(city, "_cities", {})  # as a later run of the harness
    again = city.of(COMMUNITIES)
    assert made == [COMMUNITIES]
    assert again.kept() == first.kept() and again.settings == first.settings

    meta = tmp_path / "cities" / f"{COMMUNITIES}-{kept}" / "city.json"
    record = json.loads(meta.read_text(encoding="utf-8"))
    record["ledger_size"] += 1  # the store no longer holds what the record says
    meta.write_text(json.dumps(record), encoding="utf-8")
    monkeypatch.setattr(city, "_cities", {})
    remade = city.of(COMMUNITIES)
    assert made == [COMMUNITIES, COMMUNITIES]
    assert remade.ledger_size == first.ledger_size
    assert remade.proposal_hash == first.proposal_hash  # the same seed, the same city

    stores.drop_kept_databases(f"bench_city_{COMMUNITIES}_{kept}")  # the record outlived it
    monkeypatch.setattr(city, "_cities", {})
    assert city.of(COMMUNITIES).ledger_size == first.ledger_size
    assert made == [COMMUNITIES] * 3

    newer = f"{kept}x"
    monkeypatch.setattr(city, "_code_fingerprint", lambda: newer)
    monkeypatch.setattr(city, "_cities", {})
    try:
        city.of(COMMUNITIES)
        assert made == [COMMUNITIES] * 4
        assert [p.name for p in (tmp_path / "cities").iterdir()] == [f"{COMMUNITIES}-{newer}"]
    finally:
        stores.drop_kept_databases(f"bench_city_{COMMUNITIES}_{newer}")


def test_a_cli_run_measures_its_own_peak_memory_not_the_harness(tmp_path: Path) -> None:
    """Linux carries the peak resident set over exec: spawned straight from a harness
    holding its cities, the CLI's peak was the harness's (W8 read 130 MiB for a 74 MiB
    verifier)."""
    held = bytearray(400 * 2**20)
    for page in range(0, len(held), 4096):
        held[page] = 1
    run = city.run_cli(tmp_path, ["--help"], {})
    assert "audit" in run.stdout
    assert 0 < run.peak_rss_bytes < 200 * 2**20 and run.seconds > 0 and run.cpu_seconds > 0
    with pytest.raises(RuntimeError, match="exited 2"):
        city.run_cli(tmp_path, ["no-such-command"], {})
