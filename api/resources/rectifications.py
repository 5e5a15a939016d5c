"""Rectification plans (整改清单) and their overdue items, across campaigns."""

from datetime import date
from typing import Any

from flask.views import MethodView
from marshmallow import fields

from api.parsing import Blueprint
from api.read_schemas import RectificationsPageSchema
from api.reads import PageQuerySchema, read, read_options
from api.runtime import current_read
from domain.roles import READERS
from projections import queries

blp = Blueprint(
    "rectifications",
    __name__,
    url_prefix="/api/v1/rectifications",
    description="Rectification plans, progress and follow-up checks (回头看).",
)


class RectificationsQuerySchema(PageQuerySchema):
    campaign_id = fields.UUID()
    appraisee_id = fields.UUID()
    overdue_only = fields.Boolean(
        load_default=False,
        metadata={"description": "Only plans with an item past its deadline and not verified"},
    )


@blp.route("")
class Rectifications(MethodView):
    @read(
        blp,
        RectificationsPageSchema,
        roles=READERS["rectifications"],
        query=RectificationsQuerySchema,
        by_id=False,
    )
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Plans in creation order; an item is overdue past its deadline, as of the
        server's date, until it passes a follow-up check."""
        return queries.rectifications(current_read(), today=date.today(), **read_options(query))
