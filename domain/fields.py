"""Reading command fields with precise errors (which field, what was expected)."""

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any
from uuid import UUID

from domain.envelope import parse_uuid
from domain.errors import ControlCharacter, InvalidDate, MalformedCommand

ENVELOPE_FIELDS = frozenset({"type", "id", "issued_at"})
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Length limits, in characters, that the OpenAPI schemas (api/command_schemas.py) read too.
LINE_LENGTH = 200  # a one-line string: names, titles, codes
FREE_TEXT_LENGTH = 10_000  # comments, grounds, reasons
NOTE_LENGTH = 5_000  # notes on consequences and plans, plan items


def only(command: Mapping[str, Any], required: Iterable[str], optional: Iterable[str] = ()) -> None:
    """Refuse missing required fields and fields the command type does not define."""
    required, optional = set(required), set(optional)
    missing = sorted(required - set(command))
    if missing:
        raise MalformedCommand(f"missing field(s): {', '.join(missing)}", fields=missing)
    unknown = sorted(set(command) - required - optional - ENVELOPE_FIELDS)
    if unknown:
        raise MalformedCommand(f"unknown field(s): {', '.join(unknown)}", fields=unknown)


def text(command: Mapping[str, Any], name: str, *, max_length: int = LINE_LENGTH) -> str:
    """A one-line string: names, titles, codes, ids. (The wire refuses the other C0
    controls everywhere; tab and newline are for free text only.)"""
    value = free_text(command, name, max_length=max_length)
    if "\t" in value or "\n" in value:
        raise ControlCharacter(
            f"{name} must be one line: tab and newline are allowed in free text only",
            field=name,
        )
    return value


def free_text(command: Mapping[str, Any], name: str, *, max_length: int = FREE_TEXT_LENGTH) -> str:
    """Free text (comments, reasons, report parts): may hold tabs and newlines."""
    value = command.get(name)
    if not isinstance(value, str) or not value.strip():
        raise MalformedCommand(f"{name} must be a non-empty string", field=name)
    if len(value) > max_length:
        raise MalformedCommand(f"{name} must be at most {max_length} characters", field=name)
    return value


def calendar_date(command: Mapping[str, Any], name: str) -> str:
    """An ISO 8601 calendar date (2026-03-31) naming a day that exists."""
    value = command.get(name)
    if not isinstance(value, str) or not DATE_PATTERN.fullmatch(value):
        raise InvalidDate(f"{name} must be a date like 2026-03-31", field=name)
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidDate(f"{name} {value} is not a real date", field=name) from None


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
