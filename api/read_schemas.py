"""Marshmallow schemas of the read side's answers (`projections.queries`).

They are closed (`additionalProperties: false` in the document) and dumping
through them drops any member not declared, so a field a query starts returning
is not served until it is described here. `BallotReceiptSchema` has no `signer`
at all: the public receipt check cannot leak an identity even by mistake.
"""

from typing import Any

from marshmallow import Schema, fields, validate

from domain.rules import CONSEQUENCE_LABELS

UUID = {"format": "uuid"}
BASE64 = {"format": "byte"}


def _uuid(**kwargs: Any) -> fields.String:
    return fields.String(metadata=UUID, **kwargs)


def _position(description: str | None = None, **kwargs: Any) -> fields.Integer:
    """A ledger index (`null` while the event it names has not happened)."""
    metadata = {} if description is None else {"description": description}
    return fields.Integer(allow_none=True, metadata=metadata, **kwargs)


def _nullable_text(**kwargs: Any) -> fields.String:
    return fields.String(allow_none=True, **kwargs)


def _map(values: fields.Field, description: str) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(), values=values, required=True, metadata={"description": description}
    )


def _listing(item: type[Schema], name: str, **extra: fields.Field) -> type[Schema]:
    """The page every listing query returns: items, the total, and the window asked for."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "total": fields.Integer(required=True, metadata={"description": "Items matching"}),
            "limit": fields.Integer(required=True, allow_none=True),
            "offset": fields.Integer(required=True),
            **extra,
        },
        name=name,
    )


class TreeHeadSchema(Schema):
    """A signed checkpoint's size and root, as recorded in the event resting on it."""

    tree_size = fields.Integer(required=True)
    root = fields.String(required=True, metadata=BASE64)


# --- campaigns ---------------------------------------------------------------------------


class GroupRuleSchema(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)
    weight = fields.String(required=True, metadata={"description": "Exact fraction, e.g. 9/20"})
    anonymous = fields.Boolean(required=True)
    min_ballots = fields.Integer(required=True)
    anonymity_floor = fields.Integer(
        required=True,
        metadata={"description": "Fewer ballots than this: breakdown hidden from most readers"},
    )


class CampaignSchema(Schema):
    campaign_id = _uuid(required=True)
    title = fields.String(required=True)
    year = fields.Integer(required=True)
    status = fields.String(required=True)
    details = fields.Dict(required=True, metadata={"description": "Jurisdiction, period"})
    appraisees = fields.Integer(required=True, metadata={"description": "Roster size"})
    meetings = _map(fields.String(), "Meeting id → open | closed")
    groups = fields.List(fields.Nested(GroupRuleSchema), required=True)
    proposal_hash = _nullable_text(required=True)
    proposal_position = _position(required=True)
    approval_position = _position(required=True)
    window_ends = _nullable_text(required=True, metadata={"format": "date-time"})
    published_on = _nullable_text(
        required=True,
        metadata={"format": "date", "description": "The day results.publish was signed"},
    )
    created_position = fields.Integer(required=True)
    updated_position = fields.Integer(required=True)


CampaignsPageSchema = _listing(CampaignSchema, "CampaignsPage")


class AppraiseeNamesMixin:
    """Who an appraisee id names: as on the roster, the category with its rules label."""

    name = _nullable_text(required=True)
    position = _nullable_text(required=True, metadata={"description": "职务"})
    unit = _nullable_text(required=True, metadata={"description": "单位（社区）"})
    category_label = _nullable_text(required=True)


class RosterEntrySchema(AppraiseeNamesMixin, Schema):
    appraisee_id = _uuid(required=True)
    category = fields.String(required=True)


AppraiseesPageSchema = _listing(RosterEntrySchema, "AppraiseesPage")


# --- results (DESIGN §3.1) ------------------------------------------------------------------


class GroupScoreSchema(Schema):
    """A group's part of a result, or only `hidden: true` below its anonymity floor."""

    ballots = fields.Integer()
    score = _nullable_text(metadata={"description": "Rounded half up to 2 decimals"})
    score_exact = _nullable_text(metadata={"description": "Exact fraction"})
    hidden = fields.Boolean(validate=validate.Equal(True))


class AppliedAdjustmentSchema(Schema):
    grade = fields.String(required=True)
    reason = fields.String(required=True)


CONSEQUENCE_KINDS = validate.OneOf(list(CONSEQUENCE_LABELS))


class ConsequenceSchema(Schema):
    kind = fields.String(
        required=True,
        validate=CONSEQUENCE_KINDS,
        metadata={"description": "interview 约谈, rectify 限期整改, disposal_review 组织处理"},
    )
    reason = fields.String(
        required=True, metadata={"description": "The grade or assessment, with its label"}
    )
    within_days = fields.Integer(metadata={"description": "rectify: the time limit in days"})
    due = fields.String(
        metadata={"format": "date", "description": "rectify, once published: publication + days"}
    )


class ResultSchema(AppraiseeNamesMixin, Schema):
    appraisee_id = _uuid(required=True)
    category = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["complete", "incomplete"]))
    score = _nullable_text(required=True)
    score_exact = _nullable_text(required=True)
    rank = fields.Integer(required=True, allow_none=True)
    grade = _nullable_text(required=True, metadata={"description": "After any adjustment"})
    grade_label = _nullable_text(required=True, metadata={"description": "The grade's label"})
    flags = fields.List(fields.String(), required=True)
    consequences = fields.List(
        fields.Nested(ConsequenceSchema),
        required=True,
        metadata={"description": "What the grade (as approved) and the assessments entail"},
    )
    groups = _map(fields.Nested(GroupScoreSchema), "Group code → its part")
    computed_grade = _nullable_text(metadata={"description": "Only when adjusted"})
    adjustment = fields.Nested(
        AppliedAdjustmentSchema, metadata={"description": "Only when adjusted"}
    )


class ResultsPageInfoSchema(Schema):
    total = fields.Integer(required=True)
    limit = fields.Integer(required=True, allow_none=True)
    offset = fields.Integer(required=True)


class ResultsSchema(Schema):
    campaign_id = _uuid(required=True)
    status = fields.String(required=True)
    results = fields.List(fields.Nested(ResultSchema), required=True)
    proposal_hash = _nullable_text(required=True)
    page = fields.Nested(ResultsPageInfoSchema, required=True)


# --- explanation ---------------------------------------------------------------------------


class ProofSchema(Schema):
    ledger_index = _position(required=True)
    event = fields.String(required=True)


class QuotaSchema(Schema):
    grade = fields.String(required=True)
    quota = fields.Integer(required=True, allow_none=True)
    reason = fields.String(required=True)


class NoteSchema(Schema):
    flag = fields.String(required=True)
    reason = fields.String(required=True)


class GradeStepSchema(Schema):
    grade = _nullable_text(required=True)
    computed_grade = _nullable_text(required=True)
    grade_before_rules = _nullable_text(required=True)
    adjustment = fields.Nested(AppliedAdjustmentSchema, required=True, allow_none=True)
    quota = fields.Nested(QuotaSchema, required=True, allow_none=True)
    notes = fields.List(fields.Nested(NoteSchema), required=True)
    consequences = fields.List(
        fields.Nested(ConsequenceSchema),
        required=True,
        metadata={"description": "What the grade as approved and the assessments entail"},
    )
    proof = fields.Nested(ProofSchema, required=True)


class ScoreStepSchema(Schema):
    status = fields.String(required=True)
    score = _nullable_text(required=True)
    score_exact = _nullable_text(required=True)
    rank = fields.Integer(required=True, allow_none=True)
    weights = _map(fields.String(), "Group code → weight applied (exact)")
    proof = fields.Nested(ProofSchema, required=True)
    checkpoint = fields.Nested(TreeHeadSchema, required=True)


class ExplainedRowSchema(Schema):
    ballot_id = _uuid(required=True)
    ledger_index = _position(required=True)
    leaf_hash = _nullable_text(required=True, metadata=BASE64)
    score_exact = fields.String(metadata={"description": "The row's score, when used"})
    reason = fields.String(metadata={"description": "Why the row was left out"})
    envelope = fields.Dict(metadata={"description": "The signed ballot (inspectors, auditors)"})
    signer = fields.String(metadata={"description": "Key id, named groups only"})


class ExplainedGroupSchema(Schema):
    hidden = fields.Boolean(validate=validate.Equal(True))
    weight = _nullable_text()
    ballots = fields.Integer()
    score = _nullable_text()
    score_exact = _nullable_text()
    missing = fields.Boolean()
    rows_used = fields.List(fields.Nested(ExplainedRowSchema))
    rows_trimmed = fields.List(fields.Nested(ExplainedRowSchema))
    rows_excluded = fields.List(fields.Nested(ExplainedRowSchema))


class MeetingHeadSchema(Schema):
    meeting_id = _uuid(required=True)
    closed_position = _position(required=True)
    checkpoint = fields.Nested(TreeHeadSchema, required=True, allow_none=True)


class ExplanationSchema(Schema):
    campaign_id = _uuid(required=True)
    appraisee_id = _uuid(required=True)
    category = fields.String(required=True)
    campaign_status = fields.String(required=True)
    proposal_hash = _nullable_text(required=True)
    derivation_hash = fields.String(required=True)
    consistent = fields.Boolean(
        required=True, metadata={"description": "The derivation reproduces the proposal's hash"}
    )
    grade = fields.Nested(GradeStepSchema, required=True)
    score = fields.Nested(ScoreStepSchema, required=True)
    groups = _map(fields.Nested(ExplainedGroupSchema), "Group code → score and ballots")
    meetings = fields.List(fields.Nested(MeetingHeadSchema), required=True)


# --- ballots and reconciliation ------------------------------------------------------------


class VoidedSchema(Schema):
    dispute_id = fields.String(
        required=True,
        allow_none=True,
        metadata=UUID
        | {"description": "null: voided by the teller who entered it (ballot.void_entry)"},
    )
    ledger_index = _position(required=True)


class BallotReceiptSchema(Schema):
    """A ballot as its receipt shows it: where it is in the ledger and whether it counted."""

    ballot_id = _uuid(required=True)
    campaign_id = _uuid(required=True)
    meeting_id = _uuid(required=True)
    group = fields.String(required=True)
    ledger_index = fields.Integer(required=True)
    leaf_hash = fields.String(required=True, metadata=BASE64)
    status = fields.String(required=True, validate=validate.OneOf(["valid", "invalid", "voided"]))
    reason = _nullable_text(required=True, metadata={"description": "Invalid or voided: why"})
    voided = fields.Nested(VoidedSchema, required=True, allow_none=True)


class KeyHolderSchema(Schema):
    actor_id = _uuid(required=True)
    name = fields.String(required=True)


class BallotSchema(BallotReceiptSchema):
    paper_serial = _nullable_text(
        required=True, metadata={"description": "The slip's serial, for a paper entry"}
    )
    entered_by = fields.Nested(
        KeyHolderSchema,
        allow_none=True,
        metadata={"description": "The teller who typed in a paper entry"},
    )
    signer = fields.String(
        metadata={"description": "Key id of a named group's evaluator (inspectors, auditors)"}
    )
    signer_actor_id = _uuid(allow_none=True)  # the evaluator the signer key belongs to
    signer_name = fields.String(allow_none=True, metadata={"description": "Their name"})


BallotsPageSchema = _listing(BallotSchema, "BallotsPage")


class GroupCountsSchema(Schema):
    issued = fields.Integer(required=True)
    slips_voided = fields.Integer(
        required=True, metadata={"description": "unused slips voided at the meeting (作废)"}
    )
    handed_out = fields.Integer(
        required=True, metadata={"description": "issued − slips_voided; ≥ cast"}
    )
    cast = fields.Integer(required=True)
    unused = fields.Integer(required=True)
    entries_voided = fields.Integer(
        required=True,
        metadata={"description": "paper entries their teller voided (neither cast nor invalid)"},
    )
    valid = fields.Integer(required=True)
    invalid = fields.Integer(required=True)
    voided = fields.Integer(required=True)
    counted = fields.Integer(required=True)
    abstentions = fields.Integer(required=True)
    invalid_reasons = _map(fields.Integer(), "Reason code → ballots")


class MeetingReconciliationSchema(Schema):
    meeting_id = _uuid(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["open", "closed"]))
    opened_position = fields.Integer(required=True)
    closed_position = _position(required=True)
    checkpoint = fields.Nested(TreeHeadSchema, required=True, allow_none=True)
    groups = _map(fields.Nested(GroupCountsSchema), "Live counts per group")
    recorded = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(GroupCountsSchema),
        required=True,
        allow_none=True,
        metadata={"description": "The counts the Closed event recorded"},
    )


ReconciliationPageSchema = _listing(MeetingReconciliationSchema, "ReconciliationPage")


# --- reports, disputes, rectification --------------------------------------------------------


class SubmittedPartSchema(Schema):
    code = fields.String(required=True)
    text = fields.String(required=True)


class ReportSchema(Schema):
    report_id = _uuid(required=True)
    campaign_id = _uuid(required=True)
    appraisee_id = fields.String(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["submitted", "returned", "accepted"])
    )
    parts = fields.List(fields.Nested(SubmittedPartSchema), required=True)
    comments = fields.List(fields.String(), required=True)
    submitted_position = fields.Integer(required=True)
    updated_position = fields.Integer(required=True)


ReportsPageSchema = _listing(ReportSchema, "ReportsPage")


class DisputeSchema(Schema):
    dispute_id = _uuid(required=True)
    campaign_id = _uuid(required=True)
    appraisee_id = fields.String(required=True)
    grounds = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["open", "upheld", "dismissed"]))
    reason = _nullable_text(required=True)
    voided_ballots = fields.List(_uuid(), required=True)
    lodged_position = _position(required=True)
    resolved_position = _position(required=True)
    lodged_by = fields.String(metadata={"description": "Actor id (inspectors, auditors)"})


DisputesPageSchema = _listing(DisputeSchema, "DisputesPage")


class ProgressSchema(Schema):
    note = fields.String(required=True)
    done = fields.Boolean(required=True)
    on = fields.String(required=True, metadata={"format": "date"})


class FollowUpSchema(Schema):
    passed = fields.Boolean(required=True)
    note = fields.String(required=True)
    on = fields.String(required=True, metadata={"format": "date"})


class PlanItemStateSchema(Schema):
    item_id = fields.String(required=True)
    description = fields.String(required=True)
    measures = fields.String(
        required=True, allow_none=True, metadata={"description": "整改措施, if given"}
    )
    responsible = fields.String(
        required=True, allow_none=True, metadata={"description": "责任人, if given"}
    )
    deadline = fields.String(required=True, metadata={"format": "date"})
    status = fields.String(required=True)
    progress = fields.List(fields.Nested(ProgressSchema), required=True)
    checks = fields.List(fields.Nested(FollowUpSchema), required=True)
    overdue = fields.Boolean(required=True)


class PlanSchema(Schema):
    plan_id = _uuid(required=True)
    campaign_id = _uuid(required=True)
    appraisee_id = fields.String(required=True)
    closed = fields.Boolean(required=True)
    created_position = fields.Integer(required=True)
    updated_position = fields.Integer(required=True)
    items = fields.List(fields.Nested(PlanItemStateSchema), required=True)
    overdue = fields.List(fields.String(), required=True)


RectificationsPageSchema = _listing(
    PlanSchema,
    "RectificationsPage",
    today=fields.String(required=True, metadata={"format": "date"}),
    overdue_items=fields.Integer(required=True),
)


class RectifyTrackingSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["missing", "open", "closed"]))
    overdue = fields.Boolean(
        required=True,
        metadata={"description": "Not closed, and past `due` or a plan item's own deadline"},
    )
    plans = fields.List(_uuid(), required=True)
    overdue_items = fields.List(fields.String(), required=True)


class ConsequenceItemSchema(AppraiseeNamesMixin, ConsequenceSchema):
    appraisee_id = _uuid(required=True)
    category = fields.String(required=True)
    grade = _nullable_text(required=True, metadata={"description": "As approved"})
    grade_label = _nullable_text(required=True)
    kind_label = _nullable_text(required=True)
    within_days = fields.Integer(required=True, allow_none=True)
    due = _nullable_text(required=True, metadata={"format": "date"})
    tracking = fields.Nested(
        RectifyTrackingSchema,
        required=True,
        allow_none=True,
        metadata={"description": "rectify only: how its rectification plan stands"},
    )
    held_on = _nullable_text(
        required=True,
        metadata={"format": "date", "description": "interview only: when recorded as held"},
    )


class ConsequenceSummarySchema(Schema):
    missing = fields.Integer(required=True)
    open = fields.Integer(required=True)
    closed = fields.Integer(required=True)
    overdue = fields.Integer(required=True)
    interviews_pending = fields.Integer(required=True)


class ConsequencesSchema(Schema):
    campaign_id = _uuid(required=True)
    status = fields.String(required=True)
    published_on = _nullable_text(required=True, metadata={"format": "date"})
    today = fields.String(required=True, metadata={"format": "date"})
    items = fields.List(fields.Nested(ConsequenceItemSchema), required=True)
    summary = fields.Nested(ConsequenceSummarySchema, required=True)


# --- actors, checkpoints, the projection -----------------------------------------------------


class ActorKeyViewSchema(Schema):
    key_id = fields.String(required=True)
    public_key = fields.String(required=True)
    revoked = fields.Boolean(required=True)
    added_position = fields.Integer(required=True)
    revoked_position = _position(required=True)


class ActorViewSchema(Schema):
    actor_id = _uuid(required=True)
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    registered_position = fields.Integer(required=True)
    updated_position = fields.Integer(required=True)
    keys = fields.List(fields.Nested(ActorKeyViewSchema), required=True)


ActorsPageSchema = _listing(ActorViewSchema, "ActorsPage")


class CheckpointSchema(Schema):
    tree_size = fields.Integer(required=True)
    root = fields.String(required=True, metadata=BASE64)
    note = fields.String(required=True, metadata={"description": "C2SP signed note"})


CheckpointsPageSchema = _listing(CheckpointSchema, "CheckpointsPage")


class ProjectionLagSchema(Schema):
    projection = fields.String(required=True)
    notification_id = fields.Integer(required=True)
    ledger_index = _position(required=True, description="The last ledger leaf the views include")
    head_notification_id = fields.Integer(required=True, allow_none=True)
    ledger_size = fields.Integer(required=True)
    behind = fields.Integer(required=True, metadata={"description": "Events not yet included"})
    in_process = fields.Boolean(
        required=True, metadata={"description": "Whether this server process keeps the views"}
    )


EXACT = {"description": 'Exact rational, "n/d" or an integer', "example": "3/10"}


class BallotGroupSchema(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)
    anonymous = fields.Boolean(required=True)
    form = fields.String(
        required=True,
        validate=validate.OneOf(["grade_choice", "dimension_scores", "indicator_scores"]),
    )


class BallotLabelSchema(Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)


class BallotIndicatorSchema(BallotLabelSchema):
    points = fields.String(required=True, metadata=EXACT)
    section = _nullable_text(required=True)


class BallotAppraiseeSchema(Schema):
    appraisee_id = _uuid(required=True)
    name = fields.String(required=True)
    position = fields.String(required=True)
    unit = fields.String(required=True)


class ChoiceShareSchema(Schema):
    choice = fields.String(required=True)
    share = fields.String(
        required=True,
        metadata={
            **EXACT,
            "description": "The most of a ballot's non-abstaining rows this "
            "choice may take; more makes the ballot invalid (it is still cast)",
        },
    )
    max_count_full_ballot = fields.Integer(
        required=True, metadata={"description": "floor(share × rows) with no row abstaining"}
    )


class BallotValiditySchema(Schema):
    abstain_allowed = fields.Boolean(required=True)
    max_choice_share = fields.List(fields.Nested(ChoiceShareSchema), required=True)


class BallotDefinitionSchema(Schema):
    """What a ballot page draws for one group of one meeting; names no actor, no key."""

    campaign_id = _uuid(required=True)
    campaign_title = fields.String(required=True)
    meeting_id = _uuid(required=True)
    open = fields.Boolean(required=True, metadata={"description": "Balloting still open"})
    opened_at = fields.String(
        required=True,
        metadata={"description": "The meeting's opening, RFC 3339 UTC to the second"},
    )
    group = fields.Nested(BallotGroupSchema, required=True)
    scale = fields.Integer(required=True, metadata={"description": "Scores lie in 0…scale"})
    choices = fields.List(fields.Nested(BallotLabelSchema), required=True)
    dimensions = fields.List(fields.Nested(BallotLabelSchema), required=True)
    indicators = fields.List(fields.Nested(BallotIndicatorSchema), required=True)
    appraisees = fields.List(fields.Nested(BallotAppraiseeSchema), required=True)
    validity = fields.Nested(BallotValiditySchema, required=True)
