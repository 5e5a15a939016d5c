"""Documentation of each command type's fields, for the OpenAPI description.

The command specs registry (`service.system.command_specs()`) says which types
exist but not their fields, so the fields are described here, keyed by type, one
closed schema per type, read off its handler in `service/*_commands.py`: every
field it accepts, which are required, and the bounds it checks. A client can
build any command from the served document alone.

The schemas document; they do not validate. The envelope's `command` is handed
to the command bus as sent, and the handler is the one authority: a field it
does not define is refused with `malformed-command`, a broken rule with
`rule-violation`, whatever these schemas say. A registered type missing here
still appears (as a generic object), and `tests/e2e/test_openapi.py` fails.
"""

from collections.abc import Iterable
from typing import Any

from marshmallow import INCLUDE, Schema, fields, validate

from domain.envelope import TIMESTAMP_PATTERN
from domain.fields import FREE_TEXT_LENGTH, LINE_LENGTH, NOTE_LENGTH
from domain.keys import KEY_ID_PATTERN
from domain.rectification import ITEM_ID_LENGTH, PLAN_ITEMS
from domain.roles import ROLES
from service.balloting_commands import ENTRY_VOID_REASON_LENGTH
from service.results_commands import ADJUSTMENT_REASON_LENGTH

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
SHA256_HEX_PATTERN = r"^[0-9a-f]{64}$"
# A ballot row carries exactly one of these (domain.balloting.parse_rows).
ROW_FORMS = ("scores", "choice", "indicators", "abstain")


def _uuid(description: str | None = None, **kwargs: Any) -> fields.String:
    metadata = {"format": "uuid"} | ({} if description is None else {"description": description})
    return fields.String(validate=validate.Regexp(UUID_PATTERN), metadata=metadata, **kwargs)


def _uuids(description: str | None = None, **kwargs: Any) -> fields.List:
    """A list of distinct ids (`domain.fields.uuid_list`)."""
    metadata = {"uniqueItems": True} | ({} if description is None else {"description": description})
    return fields.List(_uuid(), metadata=metadata, **kwargs)


def _text(max_length: int = LINE_LENGTH, **kwargs: Any) -> fields.String:
    """A non-empty string of at most `max_length` characters (`domain.fields.text`)."""
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def _items(
    member: type[Schema], *, min_items: int = 0, max_items: int | None = None, **kwargs: Any
) -> fields.List:
    return fields.List(
        fields.Nested(member), validate=validate.Length(min=min_items, max=max_items), **kwargs
    )


def _public_key(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{43}$"),
        metadata={"description": "base64url raw 32-byte Ed25519 public key"},
        **kwargs,
    )


def _key_id(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Regexp(KEY_ID_PATTERN.pattern), **kwargs)


def _roles() -> fields.List:
    return fields.List(
        fields.String(validate=validate.OneOf(sorted(ROLES))),
        required=True,
        validate=validate.Length(min=1),
    )


def _date(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(DATE_PATTERN), metadata={"format": "date"}, **kwargs
    )


def _object(schema_name: str, /, **members: fields.Field) -> type[Schema]:
    """A closed nested object (unknown members are refused by the handler)."""
    return Schema.from_dict(members, name=schema_name)


def _command(type_name: str, schema_name: str, /, **members: fields.Field) -> type[Schema]:
    """A command type: the common fields every command has, then its own."""
    common = {
        "type": fields.String(required=True, validate=validate.OneOf([type_name])),
        "id": _uuid("Idempotency key", required=True),
        "issued_at": fields.String(
            required=True,
            validate=validate.Regexp(TIMESTAMP_PATTERN.pattern),
            metadata={"format": "date-time", "description": "Within ±10 minutes of the server"},
        ),
    }
    return type(schema_name, (Schema,), {**common, **members})


def _campaign_command(type_name: str, schema_name: str, /, **members: fields.Field) -> type[Schema]:
    return _command(type_name, schema_name, campaign_id=_uuid(required=True), **members)


def _appraisee_command(
    type_name: str, schema_name: str, /, **members: fields.Field
) -> type[Schema]:
    return _campaign_command(type_name, schema_name, appraisee_id=_uuid(required=True), **members)


Period = _object("Period", start=_date(required=True), end=_date(required=True))
Appraisee = _object(
    "Appraisee",
    appraisee_id=_uuid(required=True),
    name=_text(required=True),
    position=_text(required=True),
    unit=_text(required=True),
    category=_text(required=True, metadata={"description": "One of the rules' categories"}),
    actor_id=_uuid("The appraisee's own actor (to submit reports, acknowledge, self-rate)"),
    person_id=_text(metadata={"description": "Links one person across campaigns"}),
)
Member = _object("WorkGroupMember", name=_text(required=True), role=_text(), actor_id=_text())
WorkGroup = _object(
    "WorkGroup",
    unit=_text(required=True),
    members=_items(Member, required=True),
    first_responsible=_text(),
    liaison=_text(),
)
ReportPart = _object("ReportPart", code=_text(required=True), text=_text(100_000, required=True))
CredentialGroup = _object(
    "CredentialGroup",
    group=_text(required=True, metadata={"description": "An anonymous group"}),
    public_keys=fields.List(_public_key(), required=True, metadata={"uniqueItems": True}),
)
PaperGroup = _object(
    "PaperGroup",
    group=_text(required=True),
    serials=fields.List(_text(), required=True, metadata={"uniqueItems": True}),
)
EvaluatorGroup = _object(
    "EvaluatorGroup",
    group=_text(required=True, metadata={"description": "A named group"}),
    actor_ids=_uuids(required=True),
)
BallotRow = _object(
    "BallotRow",
    appraisee_id=_uuid(required=True),
    scores=fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "dimension_scores groups: dimension code → 0…scale"},
    ),
    choice=fields.String(metadata={"description": "grade_choice groups: a choice code"}),
    indicators=fields.Dict(
        keys=fields.String(),
        values=fields.Raw(
            metadata={
                "oneOf": [
                    {"type": "integer"},
                    {"type": "string", "pattern": DECIMAL_PATTERN},
                ]
            }
        ),
        metadata={"description": "indicator_scores groups: indicator code → points"},
    ),
    abstain=fields.Boolean(validate=validate.Equal(True)),
)
Adjustment = _object(
    "Adjustment",
    appraisee_id=_uuid(required=True),
    grade=_text(required=True),
    reason=_text(
        ADJUSTMENT_REASON_LENGTH,
        required=True,
        metadata={"description": "Written reason (required)"},
    ),
)
PlanItem = _object(
    "PlanItem",
    item_id=_text(ITEM_ID_LENGTH, required=True),
    description=_text(NOTE_LENGTH, required=True),
    deadline=_date(required=True),
    measures=_text(
        NOTE_LENGTH, metadata={"description": "整改措施: how the problem is to be fixed"}
    ),
    responsible=_text(metadata={"description": "责任人: who answers for the item"}),
)
RULES = {"description": "Rules document (DESIGN §5)"}

COMMAND_SCHEMAS: dict[str, type[Schema]] = {
    "actor.register": _command(
        "actor.register",
        "ActorRegisterCommand",
        actor_id=_uuid(required=True),
        name=_text(required=True),
        roles=_roles(),
        public_key=_public_key(required=True),
    ),
    "actor.add_key": _command(
        "actor.add_key",
        "ActorAddKeyCommand",
        actor_id=_uuid(required=True),
        public_key=_public_key(required=True),
    ),
    "actor.rotate_key": _command(
        "actor.rotate_key",
        "ActorRotateKeyCommand",
        actor_id=_uuid(required=True),
        public_key=_public_key(required=True),
        old_key_id=_key_id(required=True),
    ),
    "actor.revoke_key": _command(
        "actor.revoke_key",
        "ActorRevokeKeyCommand",
        actor_id=_uuid(required=True),
        key_id=_key_id(required=True),
    ),
    "actor.grant_roles": _command(
        "actor.grant_roles", "ActorGrantRolesCommand", actor_id=_uuid(required=True), roles=_roles()
    ),
    "actor.revoke_roles": _command(
        "actor.revoke_roles",
        "ActorRevokeRolesCommand",
        actor_id=_uuid(required=True),
        roles=_roles(),
    ),
    "campaign.create": _campaign_command(
        "campaign.create",
        "CampaignCreateCommand",
        title=_text(required=True),
        year=fields.Integer(required=True, validate=validate.Range(min=2000, max=2100)),
        rules=fields.Dict(required=True, metadata=RULES),
        jurisdiction=_text(),
        period=fields.Nested(Period),
    ),
    "campaign.amend": _campaign_command(
        "campaign.amend",
        "CampaignAmendCommand",
        title=_text(),
        rules=fields.Dict(metadata=RULES),
        jurisdiction=_text(),
        period=fields.Nested(Period),
    ),
    "campaign.add_appraisees": _campaign_command(
        "campaign.add_appraisees",
        "CampaignAddAppraiseesCommand",
        appraisees=_items(Appraisee, min_items=1, required=True),
    ),
    "campaign.set_work_groups": _campaign_command(
        "campaign.set_work_groups",
        "CampaignSetWorkGroupsCommand",
        leading_group=_items(Member, required=True),
        work_groups=_items(WorkGroup, required=True),
    ),
    "campaign.publish": _campaign_command("campaign.publish", "CampaignPublishCommand"),
    "campaign.name_committee": _campaign_command(
        "campaign.name_committee",
        "CampaignNameCommitteeCommand",
        actor_ids=_uuids(
            "Committee members (actors with the committee role) whose approvals count; "
            "signed by the campaign's organiser. After publication the addition is pending "
            "until an inspector countersigns it",
            required=True,
        ),
    ),
    "campaign.countersign_committee": _campaign_command(
        "campaign.countersign_committee",
        "CampaignCountersignCommitteeCommand",
        actor_ids=_uuids("Exactly the pending committee addition", required=True),
    ),
    "assessment.record": _appraisee_command(
        "assessment.record",
        "AssessmentRecordCommand",
        assessment=_text(required=True, metadata={"description": "An assessment of the rules"}),
        value=_text(required=True, metadata={"description": "One of that assessment's values"}),
    ),
    "report.submit": _appraisee_command(
        "report.submit",
        "ReportSubmitCommand",
        parts=_items(ReportPart, min_items=1, max_items=10, required=True),
    ),
    "report.accept": _appraisee_command(
        "report.accept", "ReportAcceptCommand", comments=_text(FREE_TEXT_LENGTH)
    ),
    "report.return": _appraisee_command(
        "report.return",
        "ReportReturnCommand",
        comments=_text(
            FREE_TEXT_LENGTH, metadata={"description": "Required in effect: why it is returned"}
        ),
    ),
    "balloting.open": _campaign_command(
        "balloting.open",
        "BallotingOpenCommand",
        meeting_id=_uuid(required=True),
        credentials=_items(
            CredentialGroup,
            metadata={"description": "One-time credentials of anonymous groups (public keys)"},
        ),
        evaluators=_items(EvaluatorGroup, metadata={"description": "Named groups' evaluators"}),
        paper=_items(PaperGroup, metadata={"description": "Paper slips a teller types in"}),
        appraisee_ids=_uuids("Who is rated at this meeting (default: the whole roster)"),
        attendance=fields.Dict(
            metadata={
                "description": "Per group {members, present} (0 ≤ present ≤ members), kept "
                "verbatim; checked against quorum.min_attendance_share"
            }
        ),
    ),
    "ballot.cast": _campaign_command(
        "ballot.cast",
        "BallotCastCommand",
        meeting_id=_uuid(required=True),
        ballot_id=_uuid(required=True),
        group=_text(required=True),
        rows=_items(BallotRow, min_items=1, required=True),
        paper_serial=_text(metadata={"description": "Paper ballots typed in by a teller"}),
    ),
    "balloting.close": _campaign_command(
        "balloting.close", "BallotingCloseCommand", meeting_id=_uuid(required=True)
    ),
    "ballot.void_entry": _campaign_command(
        "ballot.void_entry",
        "BallotVoidEntryCommand",
        meeting_id=_uuid(required=True),
        ballot_id=_uuid(
            "A paper ballot the signing teller entered, in this still-open meeting",
            required=True,
        ),
        reason=_text(
            ENTRY_VOID_REASON_LENGTH,
            required=True,
            metadata={"description": "Why the entry is voided"},
        ),
    ),
    "balloting.countersign": _campaign_command(
        "balloting.countersign",
        "BallotingCountersignCommand",
        meeting_id=_uuid(
            "The meeting whose opening the second official (the rules' "
            "credentials.countersign role, not its organiser) puts into effect",
            required=True,
        ),
    ),
    "credentials.void": _campaign_command(
        "credentials.void",
        "CredentialsVoidCommand",
        meeting_id=_uuid(required=True),
        credentials=_items(
            CredentialGroup,
            metadata={"description": "Unused slips voided (作废) at the meeting, by public key"},
        ),
        paper=_items(PaperGroup, metadata={"description": "Unused paper slips, by serial"}),
    ),
    "results.propose": _campaign_command("results.propose", "ResultsProposeCommand"),
    "results.approve": _campaign_command(
        "results.approve",
        "ResultsApproveCommand",
        proposal_hash=fields.String(
            required=True,
            validate=validate.Regexp(SHA256_HEX_PATTERN),
            metadata={"description": "The current proposal's hash (from results.propose)"},
        ),
        adjustments=_items(Adjustment, required=True),
    ),
    "results.publish": _campaign_command(
        "results.publish",
        "ResultsPublishCommand",
        window_days=fields.Integer(required=True, validate=validate.Range(min=0, max=60)),
    ),
    "results.finalize": _campaign_command("results.finalize", "ResultsFinalizeCommand"),
    "dispute.lodge": _appraisee_command(
        "dispute.lodge",
        "DisputeLodgeCommand",
        dispute_id=_uuid(required=True),
        grounds=_text(FREE_TEXT_LENGTH, required=True),
    ),
    "dispute.resolve": _campaign_command(
        "dispute.resolve",
        "DisputeResolveCommand",
        dispute_id=_uuid(required=True),
        decision=fields.String(required=True, validate=validate.OneOf(["upheld", "dismissed"])),
        reason=_text(FREE_TEXT_LENGTH, required=True),
        void_ballots=_uuids(
            "Ballots the upheld dispute voids: only ballots that rate the disputed appraisee"
        ),
    ),
    "feedback.acknowledge": _appraisee_command(
        "feedback.acknowledge", "FeedbackAcknowledgeCommand"
    ),
    "consequence.interview": _appraisee_command(
        "consequence.interview",
        "ConsequenceInterviewCommand",
        note=_text(NOTE_LENGTH, required=True),
    ),
    "rectification.create": _appraisee_command(
        "rectification.create",
        "RectificationCreateCommand",
        plan_id=_uuid(required=True),
        items=_items(PlanItem, min_items=1, max_items=PLAN_ITEMS, required=True),
    ),
    "rectification.progress": _command(
        "rectification.progress",
        "RectificationProgressCommand",
        plan_id=_uuid(required=True),
        item_id=_text(required=True),
        note=_text(NOTE_LENGTH, required=True),
        done=fields.Boolean(required=True),
    ),
    "rectification.check": _command(
        "rectification.check",
        "RectificationCheckCommand",
        plan_id=_uuid(required=True),
        item_id=_text(required=True),
        passed=fields.Boolean(required=True),
        note=_text(NOTE_LENGTH, required=True),
    ),
    "rectification.close": _command(
        "rectification.close", "RectificationCloseCommand", plan_id=_uuid(required=True)
    ),
}

OTHER_COMMAND = "OtherCommand"

# Each type's answer: the fields `domain.provenance.RESULTS` adds to the common ones
# (`AcceptedSchema`: command_id, type, position, receipt). One entry per command type;
# `tests/e2e/test_openapi.py` keeps the keys equal to the registered types and every
# real answer of a whole campaign is checked against them with undocumented fields refused.
_ID = {"format": "uuid"}
_CAMPAIGN_STATUS: dict[str, fields.Field] = {
    "campaign_id": fields.String(required=True, metadata=_ID),
    "status": fields.String(required=True),
}
_ROLES_ANSWER: dict[str, fields.Field] = {
    "actor_id": fields.String(required=True, metadata=_ID),
    "roles": fields.List(fields.String(), required=True),
}
_KEY_ANSWER: dict[str, fields.Field] = {
    "actor_id": fields.String(required=True, metadata=_ID),
    "key_id": fields.String(required=True),
}
_REPORT_ANSWER: dict[str, fields.Field] = {
    "report_id": fields.String(required=True, metadata=_ID),
    "status": fields.String(required=True),
}
_PLAN_ANSWER: dict[str, fields.Field] = {"plan_id": fields.String(required=True, metadata=_ID)}
_COMMITTEE_ANSWER: dict[str, fields.Field] = {
    "campaign_id": fields.String(required=True, metadata=_ID),
    "committee": fields.List(
        fields.String(metadata=_ID),
        required=True,
        metadata={"description": "Named committee members in effect"},
    ),
    "pending": fields.List(
        fields.String(metadata=_ID),
        required=True,
        allow_none=True,
        metadata={"description": "Members named after publication, awaiting the inspector"},
    ),
}
ANSWERS: dict[str, dict[str, fields.Field]] = {
    "actor.register": _KEY_ANSWER,
    "actor.add_key": _KEY_ANSWER,
    "actor.rotate_key": _KEY_ANSWER | {"revoked": fields.String(required=True)},
    "actor.revoke_key": {
        "actor_id": fields.String(required=True, metadata=_ID),
        "revoked": fields.String(required=True, metadata={"description": "The revoked key id"}),
    },
    "actor.grant_roles": _ROLES_ANSWER,
    "actor.revoke_roles": _ROLES_ANSWER,
    "campaign.create": _CAMPAIGN_STATUS,
    "campaign.amend": _CAMPAIGN_STATUS,
    "campaign.add_appraisees": {
        "campaign_id": fields.String(required=True, metadata=_ID),
        "appraisees": fields.Integer(required=True, metadata={"description": "Roster size now"}),
    },
    "campaign.set_work_groups": {
        "campaign_id": fields.String(required=True, metadata=_ID),
        "work_groups": fields.Integer(required=True),
    },
    "campaign.publish": _CAMPAIGN_STATUS,
    "campaign.name_committee": _COMMITTEE_ANSWER,
    "campaign.countersign_committee": _COMMITTEE_ANSWER,
    "assessment.record": {"campaign_id": fields.String(required=True, metadata=_ID)},
    "report.submit": _REPORT_ANSWER,
    "report.accept": _REPORT_ANSWER,
    "report.return": _REPORT_ANSWER,
    "balloting.open": {
        "meeting_id": fields.String(required=True, metadata=_ID),
        "issued": fields.Dict(
            keys=fields.String(),
            values=fields.Integer(),
            required=True,
            metadata={"description": "Ballot rights issued, per group"},
        ),
    },
    "ballot.cast": {
        "ballot_id": fields.String(required=True, metadata=_ID),
        "valid": fields.Boolean(required=True),
        "reason": fields.String(
            required=True, allow_none=True, metadata={"description": "Why it is invalid"}
        ),
    },
    "ballot.void_entry": {
        "ballot_id": fields.String(required=True, metadata=_ID),
        "right_state": fields.String(
            required=True,
            metadata={"description": "The paper slip's right: issued, to be entered once more"},
        ),
    },
    "balloting.close": {
        "meeting_id": fields.String(required=True, metadata=_ID),
        "checkpoint": fields.Dict(required=True, metadata={"description": "Signed tree head"}),
        "reconciliation": fields.Dict(
            required=True, metadata={"description": "Per group: issued = cast + unused"}
        ),
    },
    "balloting.countersign": {
        "meeting_id": fields.String(required=True, metadata=_ID),
        "countersigned_by": fields.String(
            required=True, metadata={**_ID, "description": "The inspector's actor id"}
        ),
    },
    "credentials.void": {
        "meeting_id": fields.String(required=True, metadata=_ID),
        "voided": fields.Integer(required=True, metadata={"description": "Slips voided now"}),
    },
    "results.propose": _CAMPAIGN_STATUS
    | {
        "proposal_hash": fields.String(
            required=True, metadata={"description": "What results.approve must name"}
        )
    },
    "results.approve": _CAMPAIGN_STATUS | {"signatures": fields.Integer(required=True)},
    "results.publish": _CAMPAIGN_STATUS
    | {"window_ends": fields.String(required=True, allow_none=True)},
    "results.finalize": _CAMPAIGN_STATUS,
    "dispute.lodge": {
        "campaign_id": fields.String(required=True, metadata=_ID),
        "dispute_id": fields.String(required=True, metadata=_ID),
    },
    "dispute.resolve": _CAMPAIGN_STATUS
    | {
        "dispute_id": fields.String(required=True, metadata=_ID),
        "voided": fields.List(fields.String(metadata=_ID), required=True),
    },
    "feedback.acknowledge": {
        "campaign_id": fields.String(required=True, metadata=_ID),
        "appraisee_id": fields.String(required=True, metadata=_ID),
    },
    "consequence.interview": {
        "campaign_id": fields.String(required=True, metadata=_ID),
        "appraisee_id": fields.String(required=True, metadata=_ID),
        "held_on": fields.String(
            required=True, metadata={"format": "date", "description": "The signing's UTC date"}
        ),
    },
    "rectification.create": _PLAN_ANSWER | {"items": fields.Integer(required=True)},
    "rectification.progress": _PLAN_ANSWER,
    "rectification.check": _PLAN_ANSWER,
    "rectification.close": _PLAN_ANSWER | {"closed": fields.Boolean(required=True)},
}


def _one_form_per_row(spec: Any) -> None:
    """JSON Schema for what marshmallow cannot say: a row holds exactly one form."""
    row = spec.components.schemas.get(BallotRow.__name__)
    if row is not None:
        row["oneOf"] = [{"required": [form]} for form in ROW_FORMS]


def command_one_of(spec: Any, command_types: Iterable[str]) -> dict[str, Any]:
    """Register a component per command type and return the `command` property's schema.

    Types registered in the bus but unknown here share one open `OtherCommand`
    schema whose `type` enumerates them.
    """
    refs: dict[str, str] = {}
    others: list[str] = []
    for type_name in sorted(command_types):
        schema = COMMAND_SCHEMAS.get(type_name)
        if schema is None:
            others.append(type_name)
            continue
        spec.components.schema(schema.__name__, schema=schema)
        refs[type_name] = f"#/components/schemas/{schema.__name__}"
    _one_form_per_row(spec)
    if others:
        spec.components.schema(
            OTHER_COMMAND,
            {
                "type": "object",
                "description": "A registered command type without a field-level description",
                "required": ["type", "id", "issued_at"],
                "properties": {
                    "type": {"type": "string", "enum": others},
                    "id": {"type": "string", "format": "uuid", "pattern": UUID_PATTERN},
                    "issued_at": {
                        "type": "string",
                        "format": "date-time",
                        "pattern": TIMESTAMP_PATTERN.pattern,
                    },
                },
                "additionalProperties": True,
            },
        )
        refs.update({t: f"#/components/schemas/{OTHER_COMMAND}" for t in others})
    if not refs:
        return {}
    return {
        "oneOf": [{"$ref": ref} for ref in dict.fromkeys(refs.values())],
        "discriminator": {"propertyName": "type", "mapping": refs},
    }


class _Answer(Schema):
    """Open: the common fields beside it are `AcceptedSchema`'s."""

    class Meta:
        unknown = INCLUDE


def answer_name(type_name: str) -> str:
    """`ballot.cast` → `BallotCastAnswer`, beside `BallotCastCommand`."""
    return COMMAND_SCHEMAS[type_name].__name__.removesuffix("Command") + "Answer"


def document_answers(spec: Any, accepted: str, command_types: Iterable[str]) -> None:
    """Register each type's answer and make the `accepted` component one of them, by `type`."""
    refs: dict[str, str] = {}
    for type_name in sorted(set(command_types) & set(ANSWERS)):
        name = answer_name(type_name)
        members = {"type": fields.String(required=True, validate=validate.OneOf([type_name]))}
        spec.components.schema(
            name, schema=_Answer.from_dict(members | ANSWERS[type_name], name=name)
        )
        refs[type_name] = f"#/components/schemas/{name}"
    schema = spec.components.schemas[accepted]
    schema["oneOf"] = [{"$ref": ref} for ref in refs.values()]
    schema["discriminator"] = {"propertyName": "type", "mapping": refs}
