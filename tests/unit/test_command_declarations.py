"""Each command type's fields are declared once, in `api.command_schemas`, and the
handlers and domain parse functions accept exactly those: the test stops each parser at
its `domain.fields.only` call and compares what it would allow with the declaration."""

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

import pytest
from marshmallow import Schema

from api import command_schemas as declared
from domain import balloting, campaign, fields, rectification, report
from service.system import command_specs

MEETING = "00000000-0000-4000-8000-000000000001"


class Stop(Exception):
    """Raised by the spy once the parser has said what it allows."""


def allowed(parse: Callable[[], Any]) -> tuple[set[str], set[str]]:
    """(required, optional) of the first `fields.only` the parser calls."""
    seen: list[tuple[set[str], set[str]]] = []

    def spy(_: Any, required: Any, optional: Any = ()) -> None:
        seen.append((set(required), set(optional)))
        raise Stop

    with patch.object(fields, "only", spy), pytest.raises(Stop):
        parse()
    return seen[0]


def declaration(schema: type[Schema]) -> tuple[set[str], set[str]]:
    members = {n: f for n, f in schema._declared_fields.items() if n not in fields.ENVELOPE_FIELDS}
    required = {n for n, f in members.items() if f.required}
    return required, set(members) - required


@pytest.mark.parametrize("command_type", sorted(command_specs()))
def test_a_handler_accepts_exactly_the_declared_fields(command_type: str) -> None:
    handler = command_specs()[command_type].handler
    context = SimpleNamespace(command={"type": command_type})
    required, optional = allowed(lambda: handler(context))  # type: ignore[arg-type]
    assert (required, optional) == declaration(declared.COMMAND_SCHEMAS[command_type])


NESTED: dict[str, Callable[[], Any]] = {
    "Appraisee": lambda: campaign.parse_roster({"appraisees": [{}]}),
    "WorkGroupMember": lambda: campaign.parse_work_groups({"leading_group": [{}]}),
    "WorkGroup": lambda: campaign.parse_work_groups({"leading_group": [], "work_groups": [{}]}),
    "ReportPart": lambda: report.parse_parts({"parts": [{}]}),
    "PlanItem": lambda: rectification.parse_items({"items": [{}]}),
    "CredentialGroup": lambda: balloting.planned_rights(
        {"meeting_id": MEETING, "credentials": [{}]}
    ),
    "PaperGroup": lambda: balloting.planned_rights({"meeting_id": MEETING, "paper": [{}]}),
    "EvaluatorGroup": lambda: balloting.planned_rights({"meeting_id": MEETING, "evaluators": [{}]}),
}
OBJECTS = {
    schema.__name__: schema
    for schema in vars(declared).values()
    if isinstance(schema, type) and issubclass(schema, Schema) and schema.__name__ in NESTED
}


@pytest.mark.parametrize("name", sorted(NESTED))
def test_a_domain_parser_accepts_exactly_the_declared_members(name: str) -> None:
    assert allowed(NESTED[name]) == declaration(OBJECTS[name])


def test_a_drifted_declaration_is_caught() -> None:
    """A field declared but refused by the handler (or the reverse) makes the sets differ."""
    publish = declared.COMMAND_SCHEMAS["results.publish"]
    drifted = Schema.from_dict(
        {**publish._declared_fields, "note": publish._declared_fields["campaign_id"]}
    )
    handler = command_specs()["results.publish"].handler
    accepted = allowed(lambda: handler(SimpleNamespace(command={})))  # type: ignore[arg-type]
    assert accepted == declaration(publish)
    assert accepted != declaration(drifted)
