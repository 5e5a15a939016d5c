"""Liveness, readiness and metrics, for load balancers and Prometheus."""

import logging
from typing import Any

from flask import Response
from flask.views import MethodView

from api.errors import NotReady
from api.parsing import Blueprint
from api.runtime import current_runtime
from api.schemas import HealthSchema, ReadySchema

blp = Blueprint("operations", __name__, description="Health, readiness and metrics.")
log = logging.getLogger("appraisal.http")


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, Any]:
        """The process is alive (the store is not consulted)."""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.response(200, ReadySchema)
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self) -> dict[str, Any]:
        """The store answers: this process can serve requests."""
        try:
            size = current_runtime().system.ledger.size()
        except Exception as exc:
            log.warning("not ready: %r", exc)
            raise NotReady(f"the store is not ready ({type(exc).__name__})") from exc
        return {"status": "ready", "ledger_size": size}


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.response(200, {"type": "string"}, content_type="text/plain")
    def get(self) -> Response:
        """Prometheus text exposition."""
        runtime = current_runtime()
        body, content_type = runtime.metrics.render(runtime.ledger_size)
        return Response(body, content_type=content_type)
