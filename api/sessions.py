"""Sessions for reads (DESIGN §3): a signed challenge, then a short-lived bearer token.

Several gunicorn workers, possibly on several hosts, serve one API, so nothing
about a session lives in one worker's memory: a challenge and a token are both
self-contained and HMAC-authenticated with a secret every worker shares
(`APPRAISAL_SESSION_SECRET`, or `session.secret` in the data directory). Any
worker can check what any other worker issued. A challenge is single-use only
best-effort (per worker); it expires in minutes and proves nothing without the
key holder's signature over it, which is what actually authenticates.
"""

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from api.config import check_secret
from api.errors import InvalidChallenge, InvalidToken
from domain import keys
from domain.canonical import b64url_decode, b64url_encode
from domain.envelope import SESSION_PREFIX, format_timestamp
from domain.errors import BadSignature, MalformedCommand, UnknownKey
from domain.registry import Actor, KeyBinding, key_binding_id
from service.application import AppraisalApplication
from service.keyfiles import private_dir

SECRET_FILE = "session.secret"
TOKEN_VERSION = "v1"


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """The shared HMAC secret: configured, or a file created once with mode 0600.

    Concurrent workers may race to create the file; each writes a private temp
    file and hard-links it into place, so exactly one wins and all read the winner.
    """
    if configured:
        return configured.encode()
    path = data_dir / SECRET_FILE
    if not path.exists():
        private_dir(data_dir)
        fd, temp = tempfile.mkstemp(dir=data_dir, prefix=f".{SECRET_FILE}.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            with contextlib.suppress(FileExistsError):  # another worker won the race
                os.link(temp, path)
        finally:
            os.unlink(temp)
    secret = path.read_text(encoding="ascii").strip()
    check_secret(secret, str(path))
    return secret.encode()


class Mac:
    """HMAC-SHA256 under a key derived for one purpose, so a challenge is never a token."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        self._key = hmac.new(
            secret, f"appraisal-session/{purpose}".encode(), hashlib.sha256
        ).digest()

    def sign(self, message: str) -> str:
        return b64url_encode(hmac.new(self._key, message.encode(), hashlib.sha256).digest())

    def valid(self, message: str, mac: str) -> bool:
        return hmac.compare_digest(self.sign(message).encode(), mac.encode())


@dataclass(frozen=True)
class Challenge:
    value: str
    expires_at: int

    @property
    def expires_at_text(self) -> str:
        return _timestamp(self.expires_at)


class Challenges:
    """`<nonce>.<expiry>.<mac>`: random, short-lived, checkable by any worker."""

    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        self._mac = Mac(secret, "challenge")
        self._ttl = ttl_seconds
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()

    def issue(self, now: float) -> Challenge:
        body = f"{b64url_encode(secrets.token_bytes(18))}.{int(now) + self._ttl}"
        return Challenge(f"{body}.{self._mac.sign(body)}", int(now) + self._ttl)

    def check(self, value: str, now: float) -> Challenge:
        nonce, _, rest = value.partition(".")
        expiry, _, mac = rest.partition(".")
        if not (nonce and expiry.isascii() and expiry.isdigit() and mac) or not self._mac.valid(
            f"{nonce}.{expiry}", mac
        ):
            raise InvalidChallenge("the challenge was not issued by this service")
        if int(expiry) <= now:
            raise InvalidChallenge("the challenge has expired; request a new one")
        return Challenge(value, int(expiry))

    def consume(self, challenge: Challenge, now: float) -> None:
        with self._lock:
            for value, expiry in list(self._used.items()):
                if expiry <= now:
                    del self._used[value]
            if challenge.value in self._used:
                raise InvalidChallenge("the challenge was already used; request a new one")
            self._used[challenge.value] = challenge.expires_at


@dataclass(frozen=True)
class Principal:
    """Who a bearer token speaks for, and until when."""

    actor_id: str
    key_id: str
    roles: frozenset[str]
    expires_at: int

    @property
    def expires_at_text(self) -> str:
        return _timestamp(self.expires_at)


class Tokens:
    """`v1.<base64url JSON claims>.<mac>`, like a JWT but with one fixed algorithm."""

    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        self._mac = Mac(secret, "token")
        self._ttl = ttl_seconds

    def issue(
        self, actor_id: str, key_id: str, roles: frozenset[str], now: float
    ) -> tuple[str, Principal]:
        principal = Principal(actor_id, key_id, roles, int(now) + self._ttl)
        claims = {
            "sub": actor_id,
            "kid": key_id,
            "roles": sorted(roles),
            "iat": int(now),
            "exp": principal.expires_at,
        }
        body = (
            f"{TOKEN_VERSION}.{b64url_encode(json.dumps(claims, separators=(',', ':')).encode())}"
        )
        return f"{body}.{self._mac.sign(body)}", principal

    def verify(self, token: str, now: float) -> Principal:
        version, _, rest = token.partition(".")
        payload, _, mac = rest.partition(".")
        if version != TOKEN_VERSION or not mac or not self._mac.valid(f"{version}.{payload}", mac):
            raise InvalidToken("the bearer token is not valid")
        claims = json.loads(b64url_decode(payload, what="token"))
        if claims["exp"] <= now:
            raise InvalidToken("the bearer token has expired; start a new session")
        return Principal(claims["sub"], claims["kid"], frozenset(claims["roles"]), claims["exp"])


class Sessions:
    def __init__(self, secret: bytes, challenge_ttl: int, token_ttl: int) -> None:
        self.challenges = Challenges(secret, challenge_ttl)
        self.tokens = Tokens(secret, token_ttl)

    def login(
        self, app: AppraisalApplication, key_id: str, challenge: str, signature: str, now: float
    ) -> tuple[str, Principal]:
        """Exchange a challenge signed by an active actor key for a bearer token."""
        issued = self.challenges.check(challenge, now)
        binding = app.find(key_binding_id(key_id))
        if not isinstance(binding, KeyBinding) or binding.holder != "actor":
            raise UnknownKey(f"key {key_id} is not an actor's key")
        actor = app.find(UUID(binding.holder_id))
        if not isinstance(actor, Actor):
            raise UnknownKey(f"key {key_id} has no actor")
        actor.verified_key(key_id, lambda public_key: _verify(public_key, challenge, signature))
        self.challenges.consume(issued, now)
        return self.tokens.issue(str(actor.id), key_id, frozenset(actor.roles), now)

    def principal(self, app: AppraisalApplication, token: str, now: float) -> Principal:
        """Who `token` speaks for as the registry stands now, not as it stood at login.

        A revoked key (or an actor gone from the registry) is refused (401) and the
        roles are the actor's current ones, so a revocation of either is effective on
        the very next read rather than when the token expires."""
        claimed = self.tokens.verify(token, now)
        try:
            actor = app.find(UUID(claimed.actor_id))
        except ValueError:
            actor = None
        if not isinstance(actor, Actor):
            raise InvalidToken("the bearer token names no registered actor")
        actor.active_key(claimed.key_id)
        return Principal(
            actor_id=claimed.actor_id,
            key_id=claimed.key_id,
            roles=frozenset(actor.roles),
            expires_at=claimed.expires_at,
        )


def _verify(public_key: bytes, challenge: str, signature: str) -> None:
    try:
        keys.verify(public_key, SESSION_PREFIX + challenge.encode(), signature)
    except MalformedCommand as exc:
        raise BadSignature("the signature is not a valid Ed25519 signature") from exc


def _timestamp(epoch_seconds: int) -> str:
    return format_timestamp(datetime.fromtimestamp(epoch_seconds, UTC))
