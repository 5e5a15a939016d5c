"""Liveness, readiness, the projection's lag and metrics, for load balancers,
operators and Prometheus."""

import logging
import time
from typing import Any

from flask import Response
from flask.views import MethodView

from api.auth import require_roles
from api.errors import NotReady
from api.parsing import Blueprint
from api.read_schemas import ProjectionLagSchema
from api.runtime import current_runtime
from api.schemas import HealthSchema, ReadySchema
from domain.roles import READERS
from projections import queries

blp = Blueprint("operations", __name__, description="Health, readiness, lag and metrics.")
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
        """The store answers and the read models keep up: this process can serve.

        Two indexed lookups, no waiting. Not ready while this process's own projection
        worker is failing or stopped, and once the views have been behind without
        moving, or more than APPRAISAL_READY_MAX_LAG_EVENTS behind, for
        APPRAISAL_READY_MAX_LAG_SECONDS.
        """
        runtime = current_runtime()
        try:
            system = runtime.system
            size = system.ledger.size()
            lag = queries.projection_lag(runtime.read)
        except Exception as exc:
            log.warning("not ready: %r", exc)
            raise NotReady(f"the store is not ready ({type(exc).__name__})") from exc
        trouble = runtime.projection_trouble()
        if trouble is not None:
            raise NotReady(trouble, projection=lag)
        if not runtime.lag_gate.ready(lag["behind"], lag["ledger_index"], time.monotonic()):
            raise NotReady(
                f"the read models are {lag['behind']} events behind the ledger",
                projection=lag,
            )
        return {
            "status": "ready",
            "ledger_size": size,
            "projection": {"ledger_index": lag["ledger_index"], "behind": lag["behind"]},
        }


@blp.route("/api/v1/projection")
class ProjectionLag(MethodView):
    @require_roles(blp, *READERS["projection"])
    @blp.response(200, ProjectionLagSchema)
    def get(self) -> dict[str, Any]:
        """Where the read models stand against the ledger, and who keeps them."""
        runtime = current_runtime()
        lag = queries.projection_lag(runtime.read)
        return {**lag, "in_process": runtime.projects_in_process}


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.response(200, {"type": "string"}, content_type="text/plain")
    def get(self) -> Response:
        """Prometheus text exposition."""
        runtime = current_runtime()
        body, content_type = runtime.metrics.render(runtime.ledger_size)
        return Response(body, content_type=content_type)
