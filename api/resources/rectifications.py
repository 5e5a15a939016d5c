"""Rectification plans (整改清单) and their overdue items, across campaigns."""

from datetime import date
from typing import Any

from flask.views import MethodView
from marshmallow import fields

from api.parsing import Blueprint
from api.read_schemas import RectificationsPageSchema
from api.reads import PageQuerySchema, caller_roles, own_appraisee, read, read_options
from api.runtime import current_read
from domain.errors import WrongRole
from domain.roles import READERS, for_anyone
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
        server's date, until it passes a follow-up check.

        A cadre reads only their own appraisee's plans, one campaign (`campaign_id`) at a time."""
        options = read_options(query)
        if not for_anyone(caller_roles(), "rectifications"):
            if query.get("campaign_id") is None:
                raise WrongRole("a cadre reads their own plans: name the campaign_id")
            options["appraisee_id"] = own_appraisee(
                "rectifications", query["campaign_id"], query.get("appraisee_id")
            )
        return queries.rectifications(current_read(), today=date.today(), **options)
