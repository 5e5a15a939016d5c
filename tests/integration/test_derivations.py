"""Each proposal's derivation is kept in the database, content-addressed by its hash:
the projection worker stores it, explanations read it, and a derivation that does not
reproduce its proposal is never kept."""

import dataclasses
import threading
import uuid
from typing import Any

import pytest

import projections
from domain.derivation import Derivation, derive
from projections import derivations, explain, queries
from projections.worker import Worker
from service.derivation_inputs import load_inputs
from tests.support import Harness
from tests.support.scenario import CityCampaign

INSPECTOR = frozenset({"inspector"})


@pytest.fixture
def proposed(harness: Harness) -> CityCampaign:
    """A campaign whose results are proposed, not yet projected."""
    c = CityCampaign(harness)
    c.set_up()
    c.open()
    c.vote()
    c.close_and_propose()
    return c


def _proposal_hash(c: CityCampaign) -> str:
    return c.h.system.app.find(uuid.UUID(c.id)).proposal["hash"]


def _explain_all(c: CityCampaign) -> dict[str, Any]:
    return {a: queries.explanation(c.h.read, c.id, a, roles=INSPECTOR) for a in c.appraisees}


def _stored_rows(c: CityCampaign) -> list[dict[str, Any]]:
    with c.h.read.views.reading() as tx:
        return tx.all("SELECT * FROM {derived_results} WHERE campaign_id = ?", c.id)


def _no_deriving(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any) -> Derivation:
        raise AssertionError("derived again")

    monkeypatch.setattr(derivations, "derive", refuse)


def test_the_worker_stores_the_derivation_and_explanations_read_it(
    proposed: CityCampaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = proposed
    projections.catch_up(c.h.read, batch_size=5)
    views = c.h.read.views
    assert derivations.is_stored(views, c.id, _proposal_hash(c))
    assert {row["appraisee_id"] for row in _stored_rows(c)} == set(c.appraisees)

    with monkeypatch.context() as patched:
        _no_deriving(patched)
        from_store = _explain_all(c)
    assert all(told["consistent"] for told in from_store.values())

    with views.writing() as tx:
        tx.execute("DELETE FROM {derived_results} WHERE campaign_id = ?", c.id)
        tx.execute("DELETE FROM {derived_proposals} WHERE campaign_id = ?", c.id)
    assert _explain_all(c) == from_store  # derived on demand: the same explanation
    assert derivations.is_stored(views, c.id, _proposal_hash(c))  # and kept again


def test_a_rebuild_keeps_the_derivations_and_does_not_derive_again(
    proposed: CityCampaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = proposed
    projections.catch_up(c.h.read)
    before = _stored_rows(c)
    _no_deriving(monkeypatch)
    projections.rebuild(c.h.read, batch_size=7)
    assert _stored_rows(c) == before
    assert all(told["consistent"] for told in _explain_all(c).values())


def test_a_derivation_that_does_not_reproduce_the_proposal_is_not_kept(
    proposed: CityCampaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = proposed

    def drifted(*args: Any) -> Derivation:
        return dataclasses.replace(derive(*args), proposal_hash="0" * 64)

    monkeypatch.setattr(derivations, "derive", drifted)
    projections.catch_up(c.h.read)
    told = queries.explanation(c.h.read, c.id, c.appraisees[0], roles=INSPECTOR)
    assert not told["consistent"] and told["derivation_hash"] == "0" * 64
    assert _stored_rows(c) == []


def test_a_failing_derivation_leaves_the_projection_and_explanations_working(
    proposed: CityCampaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = proposed
    with monkeypatch.context() as patched:

        def broken(*_: Any) -> Derivation:
            raise RuntimeError("store unavailable")

        patched.setattr(derivations, "derive", broken)
        projections.catch_up(c.h.read)
    assert queries.results(c.h.read, c.id, roles=INSPECTOR)["status"] == "proposed"
    assert _stored_rows(c) == []
    told = queries.explanation(c.h.read, c.id, c.appraisees[0], roles=INSPECTOR)
    assert told["consistent"]
    assert len(_stored_rows(c)) == len(c.appraisees)


def test_explanations_name_the_same_rows_as_the_domain_derivation(proposed: CityCampaign) -> None:
    c = proposed
    projections.catch_up(c.h.read)
    read = c.h.read
    stored = read.app.find(uuid.UUID(c.id))
    outcome = derive(stored, load_inputs(read.app, stored)).outcome
    for appraisee, told in _explain_all(c).items():
        expected = outcome.result(appraisee)
        assert told["grade"]["grade_before_rules"] == expected.grade_before_rules
        for code, group in told["groups"].items():
            for name in explain.ROW_LISTS:
                refs = getattr(expected.groups[code], name)
                assert [r["ballot_id"] for r in group[name]] == [r.ballot_id for r in refs]
                assert [r["ledger_index"] for r in group[name]] == [r.position for r in refs]


def test_the_views_move_on_while_the_worker_derives(
    proposed: CityCampaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = proposed
    release = threading.Event()
    real_derive = derivations.derive

    def slow(*args: Any) -> Derivation:
        assert release.wait(10)
        return real_derive(*args)

    monkeypatch.setattr(derivations, "derive", slow)
    worker = Worker(c.h.read)
    try:
        worker.catch_up()
        assert queries.results(c.h.read, c.id, roles=INSPECTOR)["status"] == "proposed"
        assert _stored_rows(c) == []  # still deriving, and the views did not wait for it
    finally:
        release.set()
        worker.finish()
    assert len(_stored_rows(c)) == len(c.appraisees)
