"""The official forms laid out for print as one xlsx workbook, as the paper forms are.

Each sheet is one form (`projections.forms`): a merged title row (campaign title and
form name), a subtitle row (the jurisdiction, year, 填报单位/日期 and 公示/状态), bold
bordered header rows, the data rows, and a footer with blanks for 制表人/审核人 and the
ledger checkpoint (tree size and root) the forms rest on, so a printout can be traced
back to the ledger. Scores are written as the display strings the results carry, so a
spreadsheet never re-rounds them. Row heights follow the wrapped text (CJK characters
count two columns) so nothing is clipped on paper. Used by `appraisal export xlsx` and
`GET /api/v1/campaigns/{id}/forms.xlsx`.
"""

import io
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import groupby
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from projections.forms import DASH, WRITE_IN, Cell, Form, campaign_status

FONT = "宋体"
TITLE_FONT = Font(name="黑体", size=16, bold=True)
SUBTITLE_FONT = Font(name=FONT, size=10)
HEADER_FONT = Font(name=FONT, size=11, bold=True)
BODY_SIZE = 11
BODY_FONT = Font(name=FONT, size=BODY_SIZE)
FOOTER_FONT = Font(name=FONT, size=10)
THIN = Side(style="thin")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
MIN_WIDTH, MAX_WIDTH, MAX_WIDE_WIDTH = 6, 30, 40
LINE_HEIGHT = 15  # points per line of 11-point text
WRITE_IN_LINES = 4  # the height of a row left for handwriting (forms.WRITE_IN)
PORTRAIT_COLUMNS = 4  # a form this narrow (a 综合评价表) prints upright
TITLE_ROW, SUBTITLE_ROW, HEADER_ROW = 1, 2, 3
SIGNATURES = "制表人：＿＿＿＿＿＿＿＿　　　　审核人：＿＿＿＿＿＿＿＿　　　　（单位盖章）"


@dataclass(frozen=True)
class Heading:
    """What every sheet of one export says above and below its form."""

    title: str
    subtitle: str
    footer: tuple[str, ...]


def heading_for(campaign: Mapping[str, Any], today: date, checkpoint: Mapping[str, Any]) -> Heading:
    """What every sheet says above and below its form: the campaign, the day (填报日期)
    and the signed checkpoint the forms were read under."""
    proposal = campaign["proposal_hash"]
    return Heading(
        title=campaign["title"],
        subtitle=_subtitle(campaign, today),
        footer=(
            SIGNATURES,
            f"账本检查点：树大小 {checkpoint['tree_size']}，根哈希 {checkpoint['root']}"
            + (f"；结果提案哈希 {proposal}" if proposal else "")
            + "（可用 appraisal audit 核验）",
        ),
    )


def _subtitle(campaign: Mapping[str, Any], today: date) -> str:
    details = campaign["details"]
    jurisdiction = details.get("jurisdiction") or DASH
    parts = [f"辖区：{jurisdiction}", f"考核年度：{campaign['year']}年"]
    period = details.get("period")
    if period:
        parts.append(f"考核时间：{period['start']}至{period['end']}")
    parts += [
        f"填报单位：{jurisdiction}",
        f"填报日期：{today.isoformat()}",
        f"公示/状态：{campaign_status(campaign)}",
    ]
    return "\u3000".join(parts)


def build_workbook(heading: Heading, built: Sequence[Form]) -> Workbook:
    workbook = Workbook()
    for sheet in workbook.worksheets:  # the empty default sheet
        workbook.remove(sheet)
    for form in built:
        _lay_out(workbook.create_sheet(form.name), heading, form)
    return workbook


def workbook_bytes(heading: Heading, built: Sequence[Form]) -> bytes:
    out = io.BytesIO()
    build_workbook(heading, built).save(out)
    return out.getvalue()


def _lay_out(sheet: Worksheet, heading: Heading, form: Form) -> None:
    widths = _widths(form)
    header_rows = 2 if any(column.group for column in form.columns) else 1
    first_data = HEADER_ROW + header_rows

    title = f"{heading.title}\u3000{form.name}"
    _banner(sheet, TITLE_ROW, title, TITLE_FONT, CENTER, widths, min_lines=2)
    subtitle = "\u3000".join(filter(None, (heading.subtitle, form.remark)))
    _banner(sheet, SUBTITLE_ROW, subtitle, SUBTITLE_FONT, LEFT, widths)
    _headers(sheet, form, header_rows, widths)
    for offset, row in enumerate(form.rows):
        _data_row(sheet, first_data + offset, form, row, widths)
    for offset, text in enumerate(heading.footer):
        _banner(sheet, first_data + len(form.rows) + offset, text, FOOTER_FONT, LEFT, widths)

    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = f"{get_column_letter(form.frozen_columns + 1)}{first_data}"
    sheet.print_title_rows = f"{HEADER_ROW}:{first_data - 1}"
    sheet.page_setup.orientation = (
        "portrait" if len(form.columns) <= PORTRAIT_COLUMNS else "landscape"
    )
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    if sheet.sheet_properties.pageSetUpPr is None:
        sheet.sheet_properties.pageSetUpPr = PageSetupProperties()
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def _banner(
    sheet: Worksheet,
    row: int,
    text: str,
    font: Font,
    alignment: Alignment,
    widths: Sequence[int],
    min_lines: int = 1,
) -> None:
    """A row that is one merged cell across the form: title, subtitle, footer lines."""
    cell = sheet.cell(row=row, column=1, value=text)
    cell.font = font
    cell.alignment = alignment
    if len(widths) > 1:
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(widths))
    scale = (font.sz or BODY_SIZE) / BODY_SIZE  # column widths are in body text
    # a banner wraps at word breaks (hashes are long words): allow a fifth of the width slack
    lines = max(min_lines, _lines(text, int(sum(widths) * 0.8 / scale)))
    sheet.row_dimensions[row].height = LINE_HEIGHT * scale * lines


def _headers(sheet: Worksheet, form: Form, header_rows: int, widths: Sequence[int]) -> None:
    """One header row, or two when columns share a group header: a group's name merges
    across its columns above their own labels, an ungrouped label merges down both rows."""
    top, bottom = HEADER_ROW, HEADER_ROW + header_rows - 1
    for index, column in enumerate(form.columns, 1):
        sheet.cell(row=top, column=index, value=column.group or column.label)
        if column.group:
            sheet.cell(row=bottom, column=index, value=column.label)
        for row in range(top, bottom + 1):
            _style(sheet.cell(row=row, column=index), HEADER_FONT, CENTER)
    lines = dict.fromkeys(range(top, bottom + 1), 1)
    first = 1
    for group, members in groupby(form.columns, key=lambda c: c.group):
        span = list(members)
        last = first + len(span) - 1
        if group and last > first:
            sheet.merge_cells(start_row=top, start_column=first, end_row=top, end_column=last)
        if group:
            lines[top] = max(lines[top], _lines(group, sum(widths[first - 1 : last])))
        for index, column in enumerate(span, first):
            row = bottom if group else top
            lines[row] = max(lines[row], _lines(column.label, widths[index - 1]))
            if not group and bottom > top:
                sheet.merge_cells(
                    start_row=top, start_column=index, end_row=bottom, end_column=index
                )
        first = last + 1
    for row, count in lines.items():
        sheet.row_dimensions[row].height = LINE_HEIGHT * count


def _data_row(
    sheet: Worksheet, row: int, form: Form, values: Sequence[Cell], widths: list[int]
) -> None:
    for index, (column, value) in enumerate(zip(form.columns, values, strict=True), 1):
        alignment = LEFT if column.wide else CENTER
        _style(sheet.cell(row=row, column=index, value=value), BODY_FONT, alignment)
    lines = _row_lines([_cell_text(v) for v in values], widths)
    if WRITE_IN in values:
        lines = max(lines, WRITE_IN_LINES)
    if lines > 1:
        sheet.row_dimensions[row].height = LINE_HEIGHT * lines


def _style(cell: Any, font: Font, alignment: Alignment) -> None:
    cell.font = font
    cell.alignment = alignment
    cell.border = BORDER


def _cell_text(value: Cell) -> str:
    return "" if value is None else str(value)


def _display_width(text: str) -> int:
    """Columns a line takes in a spreadsheet: CJK and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _lines(text: str, width: int) -> int:
    """How many printed lines `text` wraps to in a column `width` characters wide."""
    usable = max(1, width - 1)
    return sum(max(1, math.ceil(_display_width(line) / usable)) for line in text.split("\n"))


def _row_lines(texts: Sequence[str], widths: Sequence[int]) -> int:
    return max(_lines(text, width) for text, width in zip(texts, widths, strict=True))


def _widths(form: Form) -> list[int]:
    """Each column wide enough for its header and its longest line, within limits."""
    widths = []
    for index, column in enumerate(form.columns):
        texts = [column.label, *(_cell_text(row[index]) for row in form.rows)]
        longest = max(_display_width(line) for text in texts for line in text.split("\n"))
        limit = MAX_WIDE_WIDTH if column.wide else MAX_WIDTH
        widths.append(min(max(longest + 2, MIN_WIDTH), limit))
    return widths
