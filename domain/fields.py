"""Reading command fields with precise errors (which field, what was expected)."""

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from domain.envelope import parse_uuid
from domain.errors import MalformedCommand

ENVELOPE_FIELDS = frozenset({"type", "id", "issued_at"})


def only(command: Mapping[str, Any], required: Iterable[str], optional: Iterable[str] = ()) -> None:
    """Refuse missing required fields and fields the command type does not define."""
    required, optional = set(required), set(optional)
    missing = sorted(required - set(command))
    if missing:
        raise MalformedCommand(f"missing field(s): {', '.join(missing)}", fields=missing)
    unknown = sorted(set(command) - required - optional - ENVELOPE_FIELDS)
    if unknown:
        raise MalformedCommand(f"unknown field(s): {', '.join(unknown)}", fields=unknown)


def text(command: Mapping[str, Any], name: str, *, max_length: int = 200) -> str:
    value = command.get(name)
    if not isinstance(value, str) or not value.strip():
        raise MalformedCommand(f"{name} must be a non-empty string", field=name)
    if len(value) > max_length:
        raise MalformedCommand(f"{name} must be at most {max_length} characters", field=name)
    return value


def uuid_field(command: Mapping[str, Any], name: str) -> UUID:
    return UUID(parse_uuid(command.get(name), name))


def uuid_list(command: Mapping[str, Any], name: str) -> list[UUID]:
    """A list of distinct UUID strings."""
    values = [UUID(parse_uuid(v, name)) for v in items(command, name)]
    if len(set(values)) != len(values):
        raise MalformedCommand(f"{name} lists an id twice", field=name)
    return values


def integer(command: Mapping[str, Any], name: str, *, low: int, high: int) -> int:
    value = command.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MalformedCommand(f"{name} must be an integer from {low} to {high}", field=name)
    return value


def items(command: Mapping[str, Any], name: str, *, max_items: int = 10_000) -> list[Any]:
    value = command.get(name)
    if not isinstance(value, list):
        raise MalformedCommand(f"{name} must be a list", field=name)
    if len(value) > max_items:
        raise MalformedCommand(f"{name} may hold at most {max_items} items", field=name)
    return value


def obj(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedCommand(f"{name} must be an object", field=name)
    return value
