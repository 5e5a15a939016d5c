"""Marshmallow schemas of every request and response body the API exchanges.

The command inside an envelope is loaded as a plain object on purpose: the
domain's own parser is the one authority on what a command may contain, and the
per-type schemas in `api.command_schemas` only document it.
"""

from typing import Any, ClassVar

from marshmallow import EXCLUDE, INCLUDE, Schema, fields, post_dump, validate

from domain.keys import KEY_ID_PATTERN

MAX_INDEX = 2**53
KEY_ID = validate.Regexp(KEY_ID_PATTERN.pattern, error="must be a key id (32 lowercase hex digits)")
SIGNATURE = validate.Regexp(
    r"^[A-Za-z0-9_-]{86}$", error="must be an unpadded base64url Ed25519 signature"
)
TIMESTAMP = {"format": "date-time"}
BASE64 = {"format": "byte"}


class QuerySchema(Schema):
    """Query strings tolerate parameters they do not know (cache busters, tracing)."""

    class Meta:
        unknown = EXCLUDE


class BodySchema(Schema):
    """Request bodies refuse fields they do not know, so typos fail loudly."""


class ProblemSchema(Schema):
    """RFC 9457 problem details; extension members carry the refusal's specifics."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(
        required=True, metadata={"format": "uri", "description": "Stable URI of the problem type"}
    )
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String(metadata={"description": "The request path"})
    request_id = fields.String()
    errors = fields.Dict(metadata={"description": "Validation errors by location and field"})


class CommandField(fields.Dict):
    """The signed command: documented as a oneOf over the registered command types."""


class EnvelopeSchema(BodySchema):
    command = CommandField(required=True)
    signer = fields.String(required=True, validate=KEY_ID)
    signature = fields.String(required=True, validate=SIGNATURE)


class LeafInputSchema(Schema):
    """The fields of a ledger leaf input (DESIGN §6), exactly as hashed."""

    stream = fields.String(required=True, metadata={"format": "uuid"})
    version = fields.Integer(required=True)
    topic = fields.String(required=True)
    state = fields.String(required=True, metadata=BASE64)


class ReceiptSchema(Schema):
    ledger_index = fields.Integer(required=True)
    leaf_hash = fields.String(required=True, metadata=BASE64)
    leaf = fields.Nested(LeafInputSchema, required=True)
    signer_public_key = fields.String(
        required=True, metadata={"description": "base64url Ed25519 key of the envelope's signer"}
    )


class AcceptedSchema(Schema):
    """The command's result; result fields particular to a command type pass through."""

    class Meta:
        unknown = INCLUDE

    command_id = fields.String(required=True, metadata={"format": "uuid"})
    type = fields.String(required=True)
    position = fields.Integer(
        required=True, metadata={"description": "Ledger index of the last event written"}
    )
    receipt = fields.Nested(ReceiptSchema)

    @post_dump(pass_original=True)
    def keep_result_fields(
        self, data: dict[str, Any], original: dict[str, Any], **_: Any
    ) -> dict[str, Any]:
        return {**original, **data}


class ChallengeSchema(Schema):
    challenge = fields.String(required=True)
    expires_at = fields.String(required=True, metadata=TIMESTAMP)


class SessionRequestSchema(BodySchema):
    key_id = fields.String(required=True, validate=KEY_ID)
    challenge = fields.String(required=True, validate=validate.Length(min=1, max=256))
    signature = fields.String(required=True, validate=SIGNATURE)


class SessionSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.String(required=True, metadata=TIMESTAMP)
    roles = fields.List(fields.String(), required=True)
    actor_id = fields.String(required=True, metadata={"format": "uuid"})


def _index(**kwargs: Any) -> fields.Integer:
    minimum = kwargs.pop("minimum", 0)
    return fields.Integer(validate=validate.Range(min=minimum, max=MAX_INDEX), **kwargs)


class InclusionQuerySchema(QuerySchema):
    index = _index(required=True)
    tree_size = _index(required=True, minimum=1)


class InclusionProofSchema(Schema):
    index = fields.Integer(required=True)
    tree_size = fields.Integer(required=True)
    leaf_hash = fields.String(required=True, metadata=BASE64)
    proof = fields.List(fields.String(metadata=BASE64), required=True)


class ConsistencyQuerySchema(QuerySchema):
    from_ = _index(required=True, minimum=1, data_key="from")
    to = _index(required=True, minimum=1)


class ConsistencyProofSchema(Schema):
    from_ = fields.Integer(required=True, data_key="from")
    to = fields.Integer(required=True)
    proof = fields.List(fields.String(metadata=BASE64), required=True)


class EntriesQuerySchema(QuerySchema):
    MAX_LIMIT: ClassVar[int] = 1000

    start = _index(load_default=0)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_LIMIT))


class LeafSchema(Schema):
    index = fields.Integer(required=True)
    leaf_hash = fields.String(required=True, metadata=BASE64)


class EntrySchema(LeafInputSchema, LeafSchema):
    pass


class LedgerPageSchema(Schema):
    next = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "`start` of the next page, null at the end of the ledger"},
    )


class LeavesPageSchema(LedgerPageSchema):
    leaves = fields.List(fields.Nested(LeafSchema), required=True)


class EntriesPageSchema(LedgerPageSchema):
    entries = fields.List(fields.Nested(EntrySchema), required=True)


class KeySchema(Schema):
    key_id = fields.String(required=True)
    public_key = fields.String(required=True)
    revoked = fields.Boolean(required=True)


class ActorSchema(Schema):
    actor_id = fields.String(required=True, metadata={"format": "uuid"})
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    keys = fields.List(fields.Nested(KeySchema), required=True)
    version = fields.Integer(required=True)


class HealthSchema(Schema):
    status = fields.String(required=True)


class ReadyProjectionSchema(Schema):
    ledger_index = fields.Integer(
        required=True, allow_none=True, metadata={"description": "The last leaf the views include"}
    )
    behind = fields.Integer(required=True, metadata={"description": "Events not yet in the views"})


class ReadySchema(Schema):
    status = fields.String(required=True)
    ledger_size = fields.Integer(required=True)
    projection = fields.Nested(ReadyProjectionSchema, required=True)
