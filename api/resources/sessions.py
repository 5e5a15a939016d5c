"""Sessions for reads: prove a key once, read with a short-lived bearer token."""

import time
from typing import Any

from flask.views import MethodView

from api.parsing import Blueprint
from api.runtime import current_runtime
from api.schemas import ChallengeSchema, SessionRequestSchema, SessionSchema

blp = Blueprint(
    "sessions",
    __name__,
    url_prefix="/api/v1",
    description="Challenge–response login with an actor key; bearer tokens for reads.",
)


@blp.route("/sessions/challenge")
class SessionChallenge(MethodView):
    @blp.response(201, ChallengeSchema, description="A fresh, single-use, short-lived challenge")
    def post(self) -> dict[str, Any]:
        """Get a challenge to sign with an actor key."""
        challenge = current_runtime().sessions.challenges.issue(time.time())
        return {"challenge": challenge.value, "expires_at": challenge.expires_at_text}


@blp.route("/sessions")
class SessionLogin(MethodView):
    @blp.arguments(
        SessionRequestSchema,
        description="`signature`: Ed25519 over `appraisal-session/v1\\n` + the challenge.",
    )
    @blp.response(201, SessionSchema, description="A bearer token carrying the actor's roles")
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Exchange a signed challenge for a bearer token."""
        runtime = current_runtime()
        token, principal = runtime.sessions.login(
            runtime.system.app, body["key_id"], body["challenge"], body["signature"], time.time()
        )
        return {
            "token": token,
            "expires_at": principal.expires_at_text,
            "roles": sorted(principal.roles),
            "actor_id": principal.actor_id,
        }
