"""The provenance table is complete and strict: every event topic the domain defines has a
rule, every command type an answer rule, and a rule's verdict cannot be fooled by JSON
values Python calls equal, by a field the rule does not give, or by a field left out."""

import importlib
import pkgutil
import uuid
from typing import Any

import pytest
from eventsourcing.domain import Aggregate

import domain
from domain import provenance
from domain.balloting import Meeting, planned_rights
from domain.campaign import Campaign
from domain.provenance import Occasion, Signed, disagreement
from service.system import command_specs
from tests.support.scenario import RULES

SIGNED_COMMAND = {"type": "campaign.publish", "id": str(uuid.uuid4()), "campaign_id": ""}


def domain_event_topics() -> set[str]:
    """Every concrete event class of the domain package, found by walking its modules: the
    leaves of Aggregate.Event, less the library's own `Created` bases of aggregates whose
    creation event has another name (those declare no fields of their own)."""
    for module in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"domain.{module.name}")

    def leaves(cls: type) -> set[type]:
        subs = cls.__subclasses__()
        return set().union(*(leaves(s) for s in subs)) if subs else {cls}

    return {
        f"{cls.__module__}:{cls.__qualname__}"
        for cls in leaves(Aggregate.Event)
        if cls.__module__.startswith("domain.")
        and not (cls.__name__ == "Created" and not vars(cls).get("__annotations__"))
    }


def event_class(topic: str) -> type:
    module, name = topic.split(":")
    found: Any = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part)
    return found


def test_every_event_topic_has_a_rule_and_every_rule_a_topic() -> None:
    assert domain_event_topics() == set(provenance.RULES)


def test_the_events_without_an_envelope_are_those_that_take_none() -> None:
    for topic in provenance.RULES:
        takes_envelope = "envelope" in event_class(topic).__annotations__
        assert takes_envelope == (topic not in provenance.WITHOUT_ENVELOPE), topic


def test_every_command_type_has_an_answer_and_writes_some_event() -> None:
    followed = {t for by_command in provenance.RULES.values() for t in by_command}
    assert set(provenance.RESULTS) == set(command_specs())
    assert set(command_specs()) <= followed


def published(campaign_id: str, **extra: Any) -> Occasion:
    command = {**SIGNED_COMMAND, "campaign_id": campaign_id}
    envelope = {"command": command, "signer": "0" * 32, "signature": "sig"}
    signed = Signed(command, envelope, "digest", "actor", str(uuid.uuid4()))
    state = {"envelope": envelope, "timestamp": "2026-01-10T09:30:00+00:00", **extra}
    return Occasion(uuid.UUID(campaign_id), object(), signed, lambda _: None, state)


TOPIC = f"{Campaign.Published.__module__}:{Campaign.Published.__qualname__}"


def test_an_honest_payload_agrees() -> None:
    assert disagreement(TOPIC, published(str(uuid.uuid4()))) is None


def test_a_field_no_command_gives_is_named() -> None:
    found = disagreement(TOPIC, published(str(uuid.uuid4()), bonus=5))
    assert found is not None and (found.field, found.recorded) == ("bonus", 5)
    assert "no signed command gives" in found.describe()


def test_a_missing_field_is_named() -> None:
    occasion = published(str(uuid.uuid4()))
    del occasion.state["envelope"]
    found = disagreement(TOPIC, occasion)
    assert found is not None and found.field == "envelope" and "missing" in found.describe()


def test_an_event_in_another_stream_is_named() -> None:
    occasion = published(str(uuid.uuid4()))
    moved = Occasion(uuid.uuid4(), occasion.before, occasion.signed, occasion.find, occasion.state)
    found = disagreement(TOPIC, moved)
    assert found is not None and found.field == "stream"


def test_an_event_of_another_command_type_does_not_follow() -> None:
    occasion = published(str(uuid.uuid4()))
    assert occasion.signed is not None
    other = Signed(
        {**occasion.signed.command, "type": "campaign.amend"},
        occasion.signed.envelope,
        "digest",
        "actor",
        "x",
    )
    with pytest.raises(provenance.Unfounded, match=r"cannot follow from a campaign\.amend command"):
        disagreement(TOPIC, Occasion(occasion.stream, None, other, occasion.find, occasion.state))


@pytest.mark.parametrize(
    ("recorded", "signed"),
    [(True, 1), (1, True), (80.0, 80), (0, False), ({"a": 1}, {"a": True}), ("1", 1)],
)
def test_values_python_calls_equal_are_not_the_same_json(recorded: Any, signed: Any) -> None:
    assert not provenance._same(recorded, signed)


def test_key_order_does_not_matter() -> None:
    assert provenance._same(
        {"a": 1, "b": [2, {"c": 3, "d": 4}]}, {"b": [2, {"d": 4, "c": 3}], "a": 1}
    )


OPENING_IDS = [str(uuid.uuid4()) for _ in range(6)]


def _meeting_opened(duties: Any) -> Occasion:
    """A `Meeting.Opened` of one named evaluator, stored with `duties`."""
    organiser, cadre, evaluator, campaign_id, meeting_id, appraisee = OPENING_IDS
    campaign = Campaign(
        id=uuid.UUID(campaign_id),
        title="t",
        year=2025,
        rules=RULES,
        details={},
        organizer_id=organiser,
        envelope={},
    )
    campaign.appraisees[appraisee] = {"appraisee_id": appraisee, "actor_id": cadre}
    command = {
        "type": "balloting.open",
        "id": meeting_id,
        "campaign_id": campaign_id,
        "meeting_id": meeting_id,
        "evaluators": [{"group": "leading_group", "actor_ids": [evaluator]}],
    }
    envelope = {"command": command, "signer": "0" * 32, "signature": "sig"}
    signed = Signed(command, envelope, "digest", "actor", organiser)
    rights = [str(r.id) for r in planned_rights(command)]
    state = {
        "envelope": envelope,
        "campaign_id": campaign_id,
        "appraisee_ids": [appraisee],
        "issued": {"leading_group": 1},
        "rights": rights,
        "attendance": {},
        "rules": RULES,
        "appraisee_actors": {cadre: appraisee},
        "duties": duties,
        "countersign": None,
        "opened_by": organiser,
    }
    found = {uuid.UUID(campaign_id): campaign}
    return Occasion(uuid.UUID(meeting_id), None, signed, found.get, state)


MEETING_OPENED = f"{Meeting.Opened.__module__}:{Meeting.Opened.__qualname__}"


def test_a_meeting_opened_copies_no_duties_and_one_opened_before_the_whole_table() -> None:
    """Since campaign snapshots a meeting keeps no copy of the campaign's duty table
    (`duties` null); a v1 bundle's meetings keep the whole table, and it must be exact."""
    assert disagreement(MEETING_OPENED, _meeting_opened(None)) is None
    occasion = _meeting_opened({})
    campaign = occasion.find(uuid.UUID(occasion.state["campaign_id"]))
    table = campaign.duty_table()
    assert len(table) == 2
    assert disagreement(MEETING_OPENED, _meeting_opened(table)) is None
    forged = {actor: ["teller"] for actor in table}
    found = disagreement(MEETING_OPENED, _meeting_opened(forged))
    assert found is not None and found.field == "duties"
