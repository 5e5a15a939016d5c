"""Bearer-token authentication and role checks for reads."""

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from flask_smorest import Blueprint

from api.errors import InvalidToken, Unauthenticated
from api.runtime import current_runtime
from api.sessions import Principal
from domain.errors import WrongRole

BEARER_SCHEME = "bearerAuth"
View = TypeVar("View", bound=Callable[..., Any])


def authenticate() -> Principal:
    """The bearer of this request, checked against the registry once per request."""
    if "principal" in g:
        return g.principal
    header = request.headers.get("Authorization")
    if not header:
        raise Unauthenticated(
            "this read needs a bearer token: POST /api/v1/sessions/challenge, then /api/v1/sessions"
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("the Authorization header must be `Bearer <token>`")
    runtime = current_runtime()
    g.principal = runtime.sessions.principal(runtime.system.app, token.strip(), time.time())
    return g.principal


def require_roles(blp: Blueprint, *roles: str) -> Callable[[View], View]:
    """Let the view run only for a bearer holding one of `roles`; document that."""
    allowed = frozenset(roles)

    def decorator(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate()
            if not principal.roles & allowed:
                raise WrongRole(f"this read needs one of the roles {', '.join(sorted(allowed))}")
            return view(*args, **kwargs)

        documented = blp.doc(security=[{BEARER_SCHEME: []}])(guarded)
        documented = blp.alt_response(401, response="UNAUTHORIZED")(documented)
        return blp.alt_response(403, response="FORBIDDEN")(documented)

    return decorator
