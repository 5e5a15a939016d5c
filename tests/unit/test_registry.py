"""An actor's active key, verified: the one rule commands and sessions share."""

import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain import errors, keys
from domain.registry import Actor

MESSAGE = b"appraisal-session/v1\nchallenge"


def actor_with_key() -> tuple[Actor, Ed25519PrivateKey, str]:
    private = Ed25519PrivateKey.generate()
    raw = keys.raw_public_key(private)
    kid = keys.key_id(raw)
    actor = Actor(
        id=uuid.uuid4(),
        name="审计员",
        roles=["auditor"],
        public_key=keys.encode_public_key(raw),
        key_id=kid,
        envelope=None,
    )
    return actor, private, kid


def verifier(signature: str):
    return lambda public_key: keys.verify(public_key, MESSAGE, signature)


def test_an_active_key_with_its_own_signature_is_verified() -> None:
    actor, private, kid = actor_with_key()
    record = actor.verified_key(kid, verifier(keys.sign(private, MESSAGE)))
    assert record is actor.keys[kid]


def test_a_signature_by_another_key_is_refused() -> None:
    actor, _, kid = actor_with_key()
    forged = keys.sign(Ed25519PrivateKey.generate(), MESSAGE)
    with pytest.raises(errors.BadSignature):
        actor.verified_key(kid, verifier(forged))


def test_a_key_of_another_actor_is_unknown_and_nothing_is_verified() -> None:
    actor, _, _ = actor_with_key()
    _, _, other = actor_with_key()
    called = []
    with pytest.raises(errors.UnknownKey):
        actor.verified_key(other, called.append)
    assert called == []


def test_a_revoked_key_is_refused_even_with_a_good_signature() -> None:
    actor, private, kid = actor_with_key()
    actor.add_key(
        keys.encode_public_key(keys.raw_public_key(Ed25519PrivateKey.generate())), "k2", {}
    )
    actor.revoke_key(kid, {})
    with pytest.raises(errors.RevokedKey):
        actor.verified_key(kid, verifier(keys.sign(private, MESSAGE)))


def test_a_bad_signature_on_a_revoked_key_says_only_bad_signature() -> None:
    actor, _, kid = actor_with_key()
    actor.add_key(
        keys.encode_public_key(keys.raw_public_key(Ed25519PrivateKey.generate())), "k2", {}
    )
    actor.revoke_key(kid, {})
    with pytest.raises(errors.BadSignature):
        actor.verified_key(kid, verifier(keys.sign(Ed25519PrivateKey.generate(), MESSAGE)))
