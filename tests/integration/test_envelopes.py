"""Refused envelopes write nothing: the ledger size is unchanged after each refusal."""

import copy
from datetime import UTC, datetime, timedelta

import pytest

from domain import errors
from domain.envelope import seal
from tests.support import Harness, Signer


def refused(harness: Harness, envelope: dict, error: type[errors.DomainError]) -> None:
    before = harness.size
    with pytest.raises(error):
        harness.submit(envelope)
    assert harness.size == before


def test_accepted_command_reports_its_ledger_position(harness: Harness) -> None:
    before = harness.size
    organizer = Signer()
    accepted = harness.submit(
        harness.admin.envelope(
            "actor.register",
            actor_id=organizer.actor_id,
            name="Org",
            roles=["organizer"],
            public_key=organizer.public_key,
        )
    )
    assert accepted.position == harness.size - 1
    assert harness.size == before + 3  # actor, key binding, command record


def test_tampered_command_is_refused(harness: Harness) -> None:
    person = Signer()
    envelope = harness.admin.envelope(
        "actor.register",
        actor_id=person.actor_id,
        name="A",
        roles=["cadre"],
        public_key=person.public_key,
    )
    envelope["command"]["roles"] = ["admin"]
    refused(harness, envelope, errors.BadSignature)


def test_signature_from_another_key_is_refused(harness: Harness) -> None:
    person = Signer()
    envelope = harness.admin.envelope(
        "actor.register",
        actor_id=person.actor_id,
        name="A",
        roles=["cadre"],
        public_key=person.public_key,
    )
    envelope["signature"] = seal(envelope["command"], Signer().key)["signature"]
    refused(harness, envelope, errors.BadSignature)


def test_unknown_key_is_refused(harness: Harness) -> None:
    stranger = Signer()
    refused(
        harness,
        stranger.envelope(
            "actor.register",
            actor_id=Signer().actor_id,
            name="A",
            roles=["cadre"],
            public_key=Signer().public_key,
        ),
        errors.UnknownKey,
    )


def test_revoked_key_is_refused_after_revocation_only(harness: Harness) -> None:
    organizer = harness.register("admin", name="Second admin")
    early = organizer.envelope("actor.grant_roles", actor_id=organizer.actor_id, roles=["auditor"])
    harness.submit(early)
    harness.submit(
        harness.admin.envelope(
            "actor.add_key", actor_id=organizer.actor_id, public_key=Signer().public_key
        )
    )
    harness.submit(
        harness.admin.envelope(
            "actor.revoke_key", actor_id=organizer.actor_id, key_id=organizer.key_id
        )
    )
    refused(
        harness,
        organizer.envelope("actor.grant_roles", actor_id=organizer.actor_id, roles=["inspector"]),
        errors.RevokedKey,
    )
    # The signature made before the revocation still stands: re-submitting it is a replay.
    assert harness.submit(early).replayed


def test_wrong_role_is_refused(harness: Harness) -> None:
    cadre = harness.register("cadre")
    refused(
        harness,
        cadre.envelope(
            "actor.register",
            actor_id=Signer().actor_id,
            name="X",
            roles=["admin"],
            public_key=Signer().public_key,
        ),
        errors.WrongRole,
    )


@pytest.mark.parametrize("skew", [timedelta(minutes=11), -timedelta(minutes=11)])
def test_issued_at_outside_the_window_is_refused(harness: Harness, skew: timedelta) -> None:
    refused(
        harness,
        harness.admin.envelope(
            "actor.register",
            issued_at=datetime.now(UTC) + skew,
            actor_id=Signer().actor_id,
            name="X",
            roles=["cadre"],
            public_key=Signer().public_key,
        ),
        errors.StaleCommand,
    )


def test_same_id_same_envelope_returns_the_original_result(harness: Harness) -> None:
    person = Signer()
    envelope = harness.admin.envelope(
        "actor.register",
        actor_id=person.actor_id,
        name="A",
        roles=["cadre"],
        public_key=person.public_key,
    )
    first = harness.submit(envelope)
    size = harness.size
    again = harness.submit(copy.deepcopy(envelope))
    assert again.replayed and again.to_json() == first.to_json()
    assert harness.size == size


def test_same_id_different_content_is_a_duplicate(harness: Harness) -> None:
    person = Signer()
    envelope = harness.admin.envelope(
        "actor.register",
        actor_id=person.actor_id,
        name="A",
        roles=["cadre"],
        public_key=person.public_key,
    )
    harness.submit(envelope)
    refused(
        harness,
        harness.admin.envelope(
            "actor.register",
            command_id=envelope["command"]["id"],
            actor_id=Signer().actor_id,
            name="B",
            roles=["cadre"],
            public_key=Signer().public_key,
        ),
        errors.DuplicateCommand,
    )


@pytest.mark.parametrize(
    "mangle",
    [
        lambda e: e.pop("signature"),
        lambda e: e.update(signer="XYZ"),
        lambda e: e["command"].update(issued_at="yesterday"),
        lambda e: e["command"].update(id="not-a-uuid"),
        lambda e: e["command"].update(weight=0.5),
        lambda e: e["command"].update(type="no.such_command"),
        lambda e: e.update(extra=1),
    ],
)
def test_malformed_envelopes_are_refused(harness: Harness, mangle) -> None:
    envelope = harness.admin.envelope(
        "actor.register",
        actor_id=Signer().actor_id,
        name="A",
        roles=["cadre"],
        public_key=Signer().public_key,
    )
    mangle(envelope)
    refused(harness, envelope, errors.MalformedCommand)


def test_a_key_cannot_be_registered_twice(harness: Harness) -> None:
    person = harness.register("cadre")
    refused(
        harness,
        harness.admin.envelope(
            "actor.register",
            actor_id=Signer().actor_id,
            name="B",
            roles=["cadre"],
            public_key=person.public_key,
        ),
        errors.Conflict,
    )
