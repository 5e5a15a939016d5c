"""Documentation of each command type's fields, for the OpenAPI description.

The command specs registry (`service.system.command_specs()`) says which types
exist but not their fields, so the fields are described here, keyed by type.
Only registered types are documented; a registered type without a schema here
still appears, as a generic object, so new types are never invisible.
Registry commands list every field they accept. Campaign-side commands list the
contract's fields (DESIGN §3.1) and the optional ones known when this was
written; they are left open because their handlers still grow optional fields.
Either way the handler is the authority: a field it does not define is refused
with a `malformed-command` problem.
"""

from collections.abc import Iterable
from typing import Any

from marshmallow import INCLUDE, RAISE, Schema, fields, validate

from domain.envelope import TIMESTAMP_PATTERN
from domain.keys import KEY_ID_PATTERN
from domain.registry import ROLES

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def _uuid(description: str | None = None, **kwargs: Any) -> fields.String:
    metadata = (
        {"format": "uuid"}
        if description is None
        else {"format": "uuid", "description": description}
    )
    return fields.String(validate=validate.Regexp(UUID_PATTERN), metadata=metadata, **kwargs)


def _text(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=200), **kwargs)


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


def _nested(schema_name: str, /, **members: fields.Field) -> type[Schema]:
    return Schema.from_dict(members, name=schema_name)


def _command(
    type_name: str, schema_name: str, /, *, closed: bool = True, **members: fields.Field
) -> type[Schema]:
    """A command type: the common fields every command has, then its own."""

    class Meta:
        unknown = RAISE if closed else INCLUDE

    common = {
        "type": fields.String(required=True, validate=validate.OneOf([type_name])),
        "id": _uuid("Idempotency key", required=True),
        "issued_at": fields.String(
            required=True,
            validate=validate.Regexp(TIMESTAMP_PATTERN.pattern),
            metadata={"format": "date-time"},
        ),
    }
    return type(schema_name, (Schema,), {"Meta": Meta, **common, **members})


Appraisee = _nested(
    "Appraisee",
    appraisee_id=_uuid(required=True),
    name=_text(required=True),
    position=_text(required=True),
    unit=_text(required=True),
    category=_text(required=True),
    actor_id=_uuid("The appraisee's own actor, if they have one"),
    person_id=_text(metadata={"description": "Links one person across campaigns"}),
)
CredentialGroup = _nested(
    "CredentialGroup",
    group=_text(required=True),
    public_keys=fields.List(_public_key(), required=True),
)
EvaluatorGroup = _nested(
    "EvaluatorGroup",
    group=_text(required=True),
    actor_ids=fields.List(_uuid(), required=True),
)
BallotRow = _nested(
    "BallotRow",
    appraisee_id=_uuid(required=True),
    scores=fields.Dict(keys=fields.String(), values=fields.Integer()),
    choice=fields.String(),
    abstain=fields.Boolean(),
)
Adjustment = _nested(
    "Adjustment",
    appraisee_id=_uuid(required=True),
    grade=fields.String(required=True),
    reason=fields.String(required=True, validate=validate.Length(min=1)),
)

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
    "campaign.create": _command(
        "campaign.create",
        "CampaignCreateCommand",
        closed=False,
        campaign_id=_uuid(required=True),
        title=_text(required=True),
        year=fields.Integer(required=True),
        rules=fields.Dict(required=True, metadata={"description": "Rules document (DESIGN §5)"}),
        jurisdiction=fields.String(),
        period=fields.Dict(),
    ),
    "campaign.add_appraisees": _command(
        "campaign.add_appraisees",
        "CampaignAddAppraiseesCommand",
        closed=False,
        campaign_id=_uuid(required=True),
        appraisees=fields.List(fields.Nested(Appraisee), required=True),
    ),
    "campaign.publish": _command(
        "campaign.publish", "CampaignPublishCommand", closed=False, campaign_id=_uuid(required=True)
    ),
    "balloting.open": _command(
        "balloting.open",
        "BallotingOpenCommand",
        closed=False,
        campaign_id=_uuid(required=True),
        meeting_id=_uuid(required=True),
        credentials=fields.List(fields.Nested(CredentialGroup)),
        evaluators=fields.List(fields.Nested(EvaluatorGroup)),
        appraisee_ids=fields.List(_uuid()),
    ),
    "ballot.cast": _command(
        "ballot.cast",
        "BallotCastCommand",
        closed=False,
        campaign_id=_uuid(required=True),
        meeting_id=_uuid(required=True),
        ballot_id=_uuid(required=True),
        group=_text(required=True),
        rows=fields.List(fields.Nested(BallotRow), required=True),
        paper_serial=fields.String(metadata={"description": "Paper ballots typed in by a teller"}),
    ),
    "balloting.close": _command(
        "balloting.close",
        "BallotingCloseCommand",
        closed=False,
        campaign_id=_uuid(required=True),
        meeting_id=_uuid(required=True),
    ),
    "results.propose": _command(
        "results.propose", "ResultsProposeCommand", closed=False, campaign_id=_uuid(required=True)
    ),
    "results.approve": _command(
        "results.approve",
        "ResultsApproveCommand",
        closed=False,
        campaign_id=_uuid(required=True),
        proposal_hash=fields.String(required=True),
        adjustments=fields.List(fields.Nested(Adjustment), required=True),
    ),
    "results.publish": _command(
        "results.publish",
        "ResultsPublishCommand",
        closed=False,
        campaign_id=_uuid(required=True),
        window_days=fields.Integer(required=True),
    ),
}

OTHER_COMMAND = "OtherCommand"


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
