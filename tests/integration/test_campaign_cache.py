"""The campaign cache on both stores: a kept campaign is what the store holds now, whoever
wrote it; what a command does to its copy stays out of it until stored; and the check
every test runs under (tests/conftest.py) catches a copy that changed what it shares."""

import copy
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from domain.campaign import Campaign
from service.campaign_cache import CampaignCache
from service.system import System
from tests.integration.test_snapshots import Driver, replayed
from tests.support import Harness, RawStore


def _stored(harness: Harness, campaign_id: uuid.UUID) -> dict[str, Any]:
    return vars(replayed(harness.system.app, campaign_id))


def _in_another_process(harness: Harness, *envelopes: dict[str, Any]) -> None:
    """The commands sent through a System of its own on the same store."""
    other = System.open(harness.system.settings)
    try:
        for envelope in envelopes:
            other.bus.handle(envelope)
    finally:
        other.close()


def _delete_event(harness: Harness, stream: Any, version: int) -> None:
    raw = RawStore(harness.system.settings)
    try:
        raw.execute(
            "DELETE FROM {events} WHERE originator_id = ? AND originator_version = ?",
            stream,
            version,
        )
    finally:
        raw.close()


def test_a_kept_campaign_shows_what_another_process_stored(harness: Harness) -> None:
    d = Driver(harness)
    campaign_id = uuid.UUID(d.c.id)
    d.step("add")
    app = harness.system.app
    before = app.get(campaign_id, Campaign)
    _in_another_process(
        harness,
        d.c.organizer.envelope("campaign.amend", campaign_id=d.c.id, title="新"),
        d.c.organizer.envelope("campaign.publish", campaign_id=d.c.id),
    )
    after = app.get(campaign_id, Campaign)
    assert (after.title, after.status, after.version) == ("新", "published", before.version + 2)
    assert vars(after) == _stored(harness, campaign_id)


def test_what_a_command_did_to_its_copy_is_not_kept_unless_stored(harness: Harness) -> None:
    d = Driver(harness)
    campaign_id = uuid.UUID(d.c.id)
    for name in ("add", "add", "publish", "open"):
        d.step(name)
    app = harness.system.app
    handed_out = app.get(campaign_id, Campaign)
    # A command's changes that never reach the store (refused later, or lost to a
    # conflict), in each kind of container the campaign holds.
    now = {"command": {"issued_at": datetime.now(UTC).isoformat()}}
    handed_out._amend({"title": "未存", "jurisdiction": "未存"}, now)  # past the draft check
    handed_out.record_assessment(d.c.appraisees[0], "party_building", "good", now)
    handed_out.close_meeting(d.open_meetings[0], now)
    handed_out.open_meeting(str(uuid.uuid4()), now)  # adds itself to every appraisee's list
    kept = app.get(campaign_id, Campaign)
    assert kept.title != "未存" and kept.meetings[d.open_meetings[0]] == "open"
    assert kept.meetings_appraising(d.c.appraisees) == d.open_meetings
    assert vars(kept) == _stored(harness, campaign_id)


def test_a_store_rewound_under_a_kept_campaign_is_read_as_it_now_stands(
    harness: Harness,
) -> None:
    """As after a restore from an earlier backup: the kept campaign's last event is gone
    (or another stands in its place), so it is read from the store again, not served
    from memory."""
    d = Driver(harness)
    campaign_id = uuid.UUID(d.c.id)
    d.step("add")
    app = harness.system.app
    d.step("publish")
    published = app.get(campaign_id, Campaign)
    assert published.status == "published"
    raw = RawStore(harness.system.settings)
    try:
        stream, version = next(
            event
            for event in map(raw.event_at, reversed(range(harness.size)))
            if uuid.UUID(str(event[0])) == campaign_id
        )
    finally:
        raw.close()
    assert version == published.version  # campaign.publish's event
    _delete_event(harness, stream, version)
    rewound = app.get(campaign_id, Campaign)
    assert (rewound.status, rewound.version) == ("draft", published.version - 1)
    assert vars(rewound) == _stored(harness, campaign_id)
    # Rewound again, then written to by another process: the kept version's number is
    # back, with another event behind it.
    _delete_event(harness, stream, rewound.version)
    _in_another_process(
        harness, d.c.organizer.envelope("campaign.amend", campaign_id=d.c.id, title="再")
    )
    rewritten = app.get(campaign_id, Campaign)
    assert (rewritten.title, rewritten.version) == ("再", rewound.version)
    assert vars(rewritten) == _stored(harness, campaign_id)


def test_the_check_catches_a_copy_that_changed_what_it_shares(harness: Harness) -> None:
    """One level of each container is a copy's own; below that it shares with the kept
    campaign, which no event's apply method may change in place. A reader that did would
    change every later copy: the check every test runs under says so."""
    d = Driver(harness)
    campaign_id = uuid.UUID(d.c.id)
    d.step("add")
    app = harness.system.app
    app.get(campaign_id, Campaign).appraisees[d.c.appraisees[0]]["name"] = "篡改"
    with pytest.raises(AssertionError, match="appraisees"):
        app.get(campaign_id, Campaign)


def test_a_copy_shares_no_container_it_could_change() -> None:
    campaign = Campaign.__new__(Campaign)
    campaign.__dict__.update({"meetings": {"m": "open"}, "makeups": ["m"], "title": "t"})
    twin = copy.copy(campaign)
    twin.meetings["n"] = "open"
    twin.makeups.append("n")
    assert (campaign.meetings, campaign.makeups, twin.title) == ({"m": "open"}, ["m"], "t")


def test_the_cache_keeps_the_most_recently_read_campaigns_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(CampaignCache, "checked", False)

    def campaign(number: int) -> Campaign:
        made = Campaign.__new__(Campaign)
        made.__dict__.update({"_id": uuid.UUID(int=number), "_version": 1, "_modified_on": None})
        return made

    def events_after(_id: uuid.UUID, version: int) -> list[SimpleNamespace]:
        # the kept one's own event, and nothing new
        return [SimpleNamespace(originator_version=version + 1, timestamp=None)]

    cache = CampaignCache(events_after, load=lambda _id: campaign(0), capacity=2)
    for number in (1, 2, 3):
        cache.keep(campaign(number))
    cache.get(uuid.UUID(int=2))
    cache.keep(campaign(4))
    held = [n for n in (1, 2, 3, 4) if cache.get(uuid.UUID(int=n)) is not None]
    assert held == [2, 4]


def test_a_campaign_an_event_failed_to_bring_up_to_date_is_not_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(CampaignCache, "checked", False)
    campaign = Campaign.__new__(Campaign)
    campaign.__dict__.update({"_id": uuid.UUID(int=1), "_version": 1, "_modified_on": None})

    def broken(_aggregate: Any) -> None:
        raise ValueError("an event this code cannot apply")

    def events_after(_id: uuid.UUID, version: int) -> list[SimpleNamespace]:
        own = SimpleNamespace(originator_version=version + 1, timestamp=None)
        return [own, SimpleNamespace(mutate=broken)]

    cache = CampaignCache(events_after, load=lambda _id: campaign)
    cache.keep(campaign)
    with pytest.raises(ValueError):
        cache.get(campaign.id)
    assert cache.get(campaign.id) is None  # the caller reads it from the store
