"""A meeting's public ballot definition: what a ballot page (or a printed form) shows a
voter who has a credential slip and no account (DESIGN §4)."""

from typing import Any
from uuid import UUID

from flask.views import MethodView
from marshmallow import fields

from api.parsing import Blueprint
from api.read_schemas import BallotDefinitionSchema
from api.reads import read
from api.runtime import current_read
from api.schemas import QuerySchema
from projections.ballot_form import ballot_definition

blp = Blueprint(
    "meetings",
    __name__,
    url_prefix="/api/v1/meetings",
    description="Ballot definitions: public, no login, no identities.",
)


class BallotQuerySchema(QuerySchema):
    group = fields.String(
        required=True, metadata={"description": "The evaluator group's code, e.g. resident_rep"}
    )


@blp.route("/<uuid:meeting_id>/ballot")
class MeetingBallot(MethodView):
    @read(blp, BallotDefinitionSchema, roles=None, query=BallotQuerySchema)
    def get(self, query: dict[str, Any], meeting_id: UUID) -> dict[str, Any]:
        """The ballot of one group in a meeting: campaign title, group label and form,
        choices or dimensions with labels, the meeting's appraisees (name, position,
        unit) and the validity rules a voter can break, such as the 优秀 share.

        Read from the meeting's own copy of the frozen rules, which `ballot.cast`
        judges against. 404 for an unknown meeting or group.
        """
        return ballot_definition(current_read(), str(meeting_id), query["group"])
