"""Campaigns and what hangs off them: results, their explanations, ballots,
reconciliation, reports and disputes (read side; roles in `api.reads`)."""

from datetime import date
from typing import Any
from uuid import UUID

from flask import Response
from flask.views import MethodView
from marshmallow import fields, validate

from api.auth import require_roles
from api.parsing import Blueprint
from api.read_schemas import (
    AppraiseesPageSchema,
    BallotsPageSchema,
    CampaignSchema,
    CampaignsPageSchema,
    ConsequencesSchema,
    DisputesPageSchema,
    ExplanationSchema,
    ReconciliationPageSchema,
    ReportsPageSchema,
    ResultsSchema,
)
from api.reads import (
    MAX_LIMIT,
    PageQuerySchema,
    ReadQuerySchema,
    caller_roles,
    campaign_options,
    own_appraisee,
    read,
    read_options,
    require_approved_or_draft_reader,
)
from api.runtime import current_read, current_system
from domain.campaign import (
    APPROVED,
    DRAFT,
    FINALIZED,
    PROPOSED,
    PUBLICIZED,
    PUBLISHED,
    REOPENED,
)
from domain.roles import READERS
from projections import queries
from projections.forms import forms, gather
from projections.workbook import heading_for, workbook_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

blp = Blueprint(
    "campaigns",
    __name__,
    url_prefix="/api/v1/campaigns",
    description="Campaigns, results (DESIGN §3.1) and the evidence behind them.",
)


def _one_of(*values: str) -> fields.String:
    return fields.String(validate=validate.OneOf(values))


class CampaignsQuerySchema(PageQuerySchema):
    status = _one_of(DRAFT, PUBLISHED, PROPOSED, APPROVED, PUBLICIZED, REOPENED, FINALIZED)
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


class ResultsQuerySchema(PageQuerySchema):
    """Results are one document: without `limit`, every appraisee."""

    limit = fields.Integer(
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": "Default: every appraisee"},
    )


class BallotsQuerySchema(PageQuerySchema):
    meeting_id = fields.UUID()
    group = fields.String(validate=validate.Length(min=1, max=200))
    status = _one_of("valid", "invalid", "voided")


class ReconciliationQuerySchema(PageQuerySchema):
    meeting_id = fields.UUID()


class ReportsQuerySchema(PageQuerySchema):
    appraisee_id = fields.UUID()
    status = _one_of("submitted", "returned", "accepted")


class ConsequencesQuerySchema(ReadQuerySchema):
    appraisee_id = fields.UUID()
    today = fields.Date(
        metadata={"description": "The day overdue is judged on (default: the server's date)"}
    )


class FormsQuerySchema(ReadQuerySchema):
    date = fields.Date(
        metadata={
            "description": "填报日期, and the day rectification items are judged overdue on "
            "(default: the server's date)"
        }
    )


class DisputesQuerySchema(PageQuerySchema):
    appraisee_id = fields.UUID()
    status = _one_of("open", "upheld", "dismissed")


@blp.route("")
class Campaigns(MethodView):
    @read(
        blp,
        CampaignsPageSchema,
        roles=READERS["campaigns"],
        query=CampaignsQuerySchema,
        by_id=False,
    )
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Campaigns in creation order, with their status."""
        return queries.campaigns(current_read(), **read_options(query))


@blp.route("/<uuid:campaign_id>")
class CampaignById(MethodView):
    @read(blp, CampaignSchema, roles=READERS["campaigns"], query=ReadQuerySchema)
    def get(self, query: dict[str, Any], campaign_id: UUID) -> dict[str, Any]:
        """One campaign: status, roster size, meetings, groups, proposal and approval."""
        return queries.campaign(current_read(), str(campaign_id), **read_options(query))


@blp.route("/<uuid:campaign_id>/appraisees")
class Appraisees(MethodView):
    @read(blp, AppraiseesPageSchema, roles=READERS["campaigns"], query=PageQuerySchema)
    def get(self, query: dict[str, Any], campaign_id: UUID) -> dict[str, Any]:
        """The roster in the order it was drawn up: name, position, unit and category
        label beside each appraisee id."""
        return queries.appraisees(current_read(), str(campaign_id), **read_options(query))


@blp.route("/<uuid:campaign_id>/results")
class Results(MethodView):
    @read(blp, ResultsSchema, roles=READERS["results"], query=ResultsQuerySchema)
    def get(self, query: dict[str, Any], campaign_id: UUID) -> dict[str, Any]:
        """Per-appraisee results as of the latest proposal or approval (DESIGN §3.1).

        An adjusted grade carries `computed_grade` and `adjustment` beside it. A
        group with fewer ballots than its anonymity floor shows only `hidden` to
        all but inspectors and auditors.
        """
        answer = queries.results(
            current_read(), str(campaign_id), roles=caller_roles(), **read_options(query)
        )
        if answer["results"]:  # no current proposal (none yet, or withdrawn): nothing to hide
            require_approved_or_draft_reader(answer["status"])
        return answer


@blp.route("/<uuid:campaign_id>/results/<uuid:appraisee_id>/explanation")
class Explanation(MethodView):
    @read(
        blp,
        ExplanationSchema,
        roles=READERS["explanation"],
        query=ReadQuerySchema,
    )
    def get(self, query: dict[str, Any], campaign_id: UUID, appraisee_id: UUID) -> dict[str, Any]:
        """Why the grade: grade ← score ← group scores ← ballots ← their envelopes.

        Inspectors and auditors also get each ballot's signed envelope. A cadre may
        read the explanation of their own appraisee only, once the results are approved.
        """
        own_appraisee("explanation", campaign_id, str(appraisee_id))
        options = campaign_options(campaign_id, query)
        status = queries.campaign(current_read(), str(campaign_id))["status"]
        require_approved_or_draft_reader(status)
        return queries.explanation(
            current_read(), str(campaign_id), str(appraisee_id), roles=caller_roles(), **options
        )


@blp.route("/<uuid:campaign_id>/ballots")
class Ballots(MethodView):
    @read(blp, BallotsPageSchema, roles=READERS["ballots"], query=BallotsQuerySchema)
    def get(self, query: dict[str, Any], campaign_id: UUID) -> dict[str, Any]:
        """The campaign's ballots in ledger order, with status and receipt.

        Inspectors and auditors also see a named group's signer (key id); an
        anonymous ballot's signer is never stored.
        """
        return queries.ballots(
            current_read(),
            str(campaign_id),
            roles=caller_roles(),
            **campaign_options(campaign_id, query),
        )


@blp.route("/<uuid:campaign_id>/reconciliation")
class Reconciliation(MethodView):
    @read(
        blp,
        ReconciliationPageSchema,
        roles=READERS["reconciliation"],
        query=ReconciliationQuerySchema,
    )
    def get(self, query: dict[str, Any], campaign_id: UUID) -> dict[str, Any]:
        """Per meeting and group: issued = cast + unused, cast = valid + invalid, …"""
        return queries.reconciliation(
            current_read(), str(campaign_id), **campaign_options(campaign_id, query)
        )


@blp.route("/<uuid:campaign_id>/reports")
class Reports(MethodView):
    @read(blp, ReportsPageSchema, roles=READERS["reports"], query=ReportsQuerySchema)
    def get(self, query: dict[str, Any], campaign_id: UUID) -> dict[str, Any]:
        """Debriefing reports in submission order, with review comments."""
        return queries.reports(
            current_read(), str(campaign_id), **campaign_options(campaign_id, query)
        )


@blp.route("/<uuid:campaign_id>/disputes")
class Disputes(MethodView):
    @read(blp, DisputesPageSchema, roles=READERS["disputes"], query=DisputesQuerySchema)
    def get(self, query: dict[str, Any], campaign_id: UUID) -> dict[str, Any]:
        """Disputes in the order lodged; who lodged one is shown to inspectors and auditors.

        A cadre reads only those about their own appraisee."""
        options = campaign_options(campaign_id, query)
        options["appraisee_id"] = own_appraisee("disputes", campaign_id, query.get("appraisee_id"))
        return queries.disputes(current_read(), str(campaign_id), roles=caller_roles(), **options)


@blp.route("/<uuid:campaign_id>/consequences")
class Consequences(MethodView):
    @read(blp, ConsequencesSchema, roles=READERS["consequences"], query=ConsequencesQuerySchema)
    def get(self, query: dict[str, Any], campaign_id: UUID) -> dict[str, Any]:
        """What the approved results entail (约谈, 限期整改, 组织处理), and for each 限期整改
        whether its rectification plan is missing, open or closed, and overdue: past the
        publication date + `within_days`, or past a plan item's own deadline.

        A cadre reads only their own appraisee's."""
        options = campaign_options(campaign_id, query)
        options["appraisee_id"] = own_appraisee(
            "consequences", campaign_id, query.get("appraisee_id")
        )
        options["today"] = options.get("today") or date.today()
        return queries.consequences(current_read(), str(campaign_id), **options)


@blp.route("/<uuid:campaign_id>/forms.xlsx")
class Forms(MethodView):
    @require_roles(blp, *READERS["forms"])
    @blp.arguments(FormsQuerySchema, location="query")
    @blp.response(
        200,
        {"type": "string", "format": "binary"},
        content_type=XLSX,
        description="The workbook: 附件4, the grades, 附件6 per secretary, 附件7",
    )
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self, query: dict[str, Any], campaign_id: UUID) -> Response:
        """The campaign's official forms as one xlsx workbook, laid out for print: 民主测评
        结果汇总表 (附件4: ballots, votes per choice, 优秀率 and scores per group), 考核等次
        汇总表, one 综合评价表 per party secretary (附件6) and 问题整改清单 (附件7: items,
        measures, who is responsible, deadlines, progress, follow-up checks).

        The same content as the results read for the caller: below a group's anonymity
        floor its score and vote counts read 不公开, except to inspectors and auditors.
        Results not yet approved are a draft, and so are their forms. The footer names the
        signed checkpoint the forms were read under."""
        options = read_options(query)
        read_model = current_read()
        day = query.get("date") or date.today()
        sources = gather(
            read_model, str(campaign_id), day, caller_roles(), options.get("min_position")
        )
        if sources.results:
            require_approved_or_draft_reader(sources.campaign["status"])
        checkpoint = current_system().ledger.tree_head()
        body = workbook_bytes(heading_for(sources.campaign, day, checkpoint), forms(sources))
        filename = f"forms-{sources.campaign['campaign_id']}-{day.isoformat()}.xlsx"
        return Response(
            body,
            mimetype=XLSX,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )
