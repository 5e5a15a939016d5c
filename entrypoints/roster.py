"""Rosters as the street office keeps them: a spreadsheet in, signed commands out.

The template has one sheet of appraisees (测评对象) and, when the campaign's rules
have named (non-anonymous) evaluator groups, one sheet per such group listing its
evaluators' actor ids. Reading a filled template gives, while the campaign is a draft,
`campaign.add_appraisees`; once it is published and given a meeting id, the
`balloting.open` of that meeting with the evaluator sheets' `evaluators` (the
roster may change only in a draft, and a meeting opens only once published, so
one file serves both stages; both sheets are checked every time).

Why so strict: a roster is the base of every later figure. The whole file is read
and checked before any command is built, and the first bad cell is named by sheet,
row and column (`测评对象!D7 类别: …`), so nothing is half-imported. Formulas are
refused (a cell's shown value is not what the file holds, and a formula can point
elsewhere); files bigger than the limits below are refused before they are parsed.
"""

import uuid
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from domain.rules import Rules

APPRAISEES = "测评对象"
EVALUATOR_SHEET_PREFIX = "测评人-"
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # a zip bomb is refused before openpyxl unpacks it
MAX_ROWS = 5000
MAX_TEXT = 200  # as `domain.fields.text` allows


@dataclass(frozen=True)
class Field:
    """A template column: its header, the command field it fills, whether it must be given."""

    header: str
    key: str
    required: bool
    width: int = 16


APPRAISEE_FIELDS = (
    Field("姓名", "name", True, 12),
    Field("职务", "position", True, 24),
    Field("单位/社区", "unit", True, 24),
    Field("类别", "category", True, 30),
    Field("账号ID（可选）", "actor_id", False, 38),
    Field("测评对象ID（可选，留空自动生成）", "appraisee_id", False, 38),
)
EVALUATOR_FIELDS = (Field("姓名", "name", False, 12), Field("账号ID", "actor_id", True, 38))
UUID_KEYS = {"actor_id", "appraisee_id"}


class RosterError(ValueError):
    """A roster file that cannot be imported, with the place of the first bad cell."""


def named_groups(rules: Rules) -> list[Any]:
    return [g for g in rules.groups if not g.anonymous]


def evaluator_sheet(label: str) -> str:
    """Excel sheet names hold at most 31 characters and none of []:*?/\\."""
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in label)
    return (EVALUATOR_SHEET_PREFIX + cleaned)[:31]


def template(rules: Rules | None) -> Workbook:
    """An empty roster: headers, and 类别 offered as a list of the rules' labels."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = APPRAISEES
    _headers(sheet, APPRAISEE_FIELDS)
    if rules is not None:
        labels = ",".join(c.label for c in rules.categories)
        if len(labels) <= 255:  # Excel's limit for a list written inline
            column = get_column_letter(1 + APPRAISEE_FIELDS.index(_field("category")))
            choose = DataValidation(type="list", formula1=f'"{labels}"', allow_blank=True)
            choose.add(f"{column}2:{column}{MAX_ROWS}")
            sheet.add_data_validation(choose)
        for group in named_groups(rules):
            _headers(workbook.create_sheet(evaluator_sheet(group.label)), EVALUATOR_FIELDS)
    return workbook


def _field(key: str) -> Field:
    return next(f for f in APPRAISEE_FIELDS if f.key == key)


def _headers(sheet: Worksheet, columns: Sequence[Field]) -> None:
    for index, column in enumerate(columns, 1):
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"


@dataclass(frozen=True)
class Roster:
    appraisees: list[dict[str, str]]
    evaluators: dict[str, list[str]]  # group code -> actor ids, named groups only

    def commands(self, campaign_id: str, meeting_id: str | None) -> list[dict[str, Any]]:
        """The unsigned command this roster stands for at its stage: the appraisees
        while the campaign is a draft, or — given the meeting, once it is published —
        the meeting's opening with the named groups' evaluators."""
        if meeting_id is None:
            if not self.appraisees:
                raise RosterError(f"no appraisees on sheet {APPRAISEES}")
            return [
                {
                    "type": "campaign.add_appraisees",
                    "campaign_id": campaign_id,
                    "appraisees": self.appraisees,
                }
            ]
        if not self.evaluators:
            raise RosterError("--meeting given, but no evaluator sheet has a row")
        evaluators = [{"group": g, "actor_ids": ids} for g, ids in self.evaluators.items()]
        return [
            {
                "type": "balloting.open",
                "campaign_id": campaign_id,
                "meeting_id": meeting_id,
                "evaluators": evaluators,
            }
        ]


def read_roster(path: Path, rules: Rules) -> Roster:
    """Check and read a filled template; RosterError names the first bad cell."""
    _check_size(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=False)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise RosterError(f"{path}: not an .xlsx workbook ({exc})") from None
    try:
        if APPRAISEES not in workbook.sheetnames:
            raise RosterError(f"{path}: no sheet named {APPRAISEES}")
        appraisees = _appraisees(workbook[APPRAISEES], rules)
        evaluators = {}
        for group in named_groups(rules):
            name = evaluator_sheet(group.label)
            if name in workbook.sheetnames:
                ids = _evaluators(workbook[name])
                if ids:
                    evaluators[group.code] = ids
    finally:
        workbook.close()
    return Roster(appraisees, evaluators)


def _check_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RosterError(f"cannot read {path}: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise RosterError(f"{path}: {size} bytes, more than the {MAX_FILE_BYTES} a roster may have")
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise RosterError(f"{path}: not an .xlsx workbook") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise RosterError(f"{path}: unpacks to {unpacked} bytes, more than {MAX_UNPACKED_BYTES}")


def _rows(sheet: Worksheet, columns: Sequence[Field]) -> Iterator[tuple[int, dict[str, str]]]:
    """The non-empty data rows as {key: text}, after checking the header row."""
    rows = sheet.iter_rows(values_only=True)
    header = [_plain(v) for v in next(rows, ())]
    for index, column in enumerate(columns):
        found = header[index] if index < len(header) else ""
        if found != column.header:
            letter = get_column_letter(index + 1)
            raise RosterError(
                f"{sheet.title}!{letter}1: header {found!r}, expected {column.header!r}"
            )
    for number, values in enumerate(rows, 2):
        if number > MAX_ROWS + 1:
            raise RosterError(f"{sheet.title}: more than {MAX_ROWS} rows")
        cells = {}
        for index, column in enumerate(columns):
            value = values[index] if index < len(values) else None
            place = f"{sheet.title}!{get_column_letter(index + 1)}{number} {column.header}"
            cells[column.key] = _text(value, place)
        extra = [v for v in values[len(columns) :] if _plain(v)]
        if extra:
            raise RosterError(f"{sheet.title}!row {number}: values beyond the template's columns")
        if not any(cells.values()):
            continue  # an empty row: spreadsheets are full of them
        for index, column in enumerate(columns):
            place = f"{sheet.title}!{get_column_letter(index + 1)}{number} {column.header}"
            if column.required and not cells[column.key]:
                raise RosterError(f"{place}: required")
            if column.key in UUID_KEYS and cells[column.key]:
                cells[column.key] = _uuid(cells[column.key], place)
        yield number, cells


def _plain(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _text(value: Any, place: str) -> str:
    if isinstance(value, str) and value.startswith("="):
        raise RosterError(f"{place}: formulas are not accepted, type the value itself")
    if value is not None and not isinstance(value, str | int):
        raise RosterError(f"{place}: expected text, found {type(value).__name__}")
    text = _plain(value)
    if len(text) > MAX_TEXT:
        raise RosterError(f"{place}: longer than {MAX_TEXT} characters")
    if any(ch < " " for ch in text):
        raise RosterError(f"{place}: must be one line of text")
    return text


def _uuid(text: str, place: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise RosterError(f"{place}: {text!r} is not an id (UUID)") from None


def _appraisees(sheet: Worksheet, rules: Rules) -> list[dict[str, str]]:
    by_label = {c.label: c.code for c in rules.categories}
    codes = {c.code for c in rules.categories}
    category_column = get_column_letter(1 + APPRAISEE_FIELDS.index(_field("category")))
    seen_people: dict[tuple[str, str, str], int] = {}
    seen_ids: dict[str, int] = {}
    appraisees = []
    for number, cells in _rows(sheet, APPRAISEE_FIELDS):
        place = f"{sheet.title}!{category_column}{number} 类别"
        category = by_label.get(cells["category"], cells["category"])
        if category not in codes:
            allowed = "、".join(c.label for c in rules.categories)
            raise RosterError(f"{place}: {cells['category']!r} is not a category ({allowed})")
        person = (cells["name"], cells["position"], cells["unit"])
        if person in seen_people:
            raise RosterError(
                f"{sheet.title}!row {number}: {'/'.join(person)} is already on row "
                f"{seen_people[person]}"
            )
        seen_people[person] = number
        entry = {k: cells[k] for k in ("name", "position", "unit")}
        entry["category"] = category
        entry["appraisee_id"] = cells["appraisee_id"] or str(uuid.uuid4())
        if cells["actor_id"]:
            entry["actor_id"] = cells["actor_id"]
        for key in ("appraisee_id", "actor_id"):
            if key in entry:
                if entry[key] in seen_ids:
                    raise RosterError(
                        f"{sheet.title}!row {number}: id {entry[key]} is already on row "
                        f"{seen_ids[entry[key]]}"
                    )
                seen_ids[entry[key]] = number
        appraisees.append(entry)
    return appraisees


def _evaluators(sheet: Worksheet) -> list[str]:
    seen: dict[str, int] = {}
    for number, cells in _rows(sheet, EVALUATOR_FIELDS):
        actor_id = cells["actor_id"]
        if actor_id in seen:
            raise RosterError(
                f"{sheet.title}!row {number}: evaluator {actor_id} is already on row "
                f"{seen[actor_id]}"
            )
        seen[actor_id] = number
    return list(seen)
