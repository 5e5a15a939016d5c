"""Credential slips as an A4 PDF: eight slips a page, cut marks, Chinese text, a QR code.

Each slip carries its one-time credential's private key only inside the QR code's URL
fragment (and nowhere else); the organiser prints, cuts and hands them out at random.
reportlab draws the page with its built-in CID font STSong-Light (no font file needed);
segno makes the QR code, drawn module by module as vector squares.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

FONT = "STSong-Light"
COLUMNS, ROWS = 2, 4
CUT_MARK = 4 * mm
QR_SIZE = 46 * mm


@dataclass(frozen=True)
class Slip:
    serial: str
    url: str  # the ballot page's address with the credential in its fragment


def write_slips(
    path: Path, slips: Sequence[Slip], *, title: str, group_label: str, meeting_id: str
) -> None:
    """Write ``slips`` to ``path``, ``COLUMNS × ROWS`` a page in serial order."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    canvas = Canvas(str(path), pagesize=A4, invariant=True)
    canvas.setTitle("民主测评投票凭证")
    width, height = A4
    slip_w, slip_h = width / COLUMNS, height / ROWS
    per_page = COLUMNS * ROWS
    for start in range(0, len(slips), per_page):
        _cut_marks(canvas, slip_w, slip_h)
        for i, slip in enumerate(slips[start : start + per_page]):
            x = (i % COLUMNS) * slip_w
            y = height - (i // COLUMNS + 1) * slip_h
            _slip(canvas, slip, x, y, slip_w, slip_h, title, group_label, meeting_id)
        canvas.showPage()
    canvas.save()


def _cut_marks(canvas: Canvas, slip_w: float, slip_h: float) -> None:
    """Short crosses at every slip corner, so a guillotine cut leaves no mark on a slip."""
    canvas.setLineWidth(0.3)
    for col in range(COLUMNS + 1):
        for row in range(ROWS + 1):
            x, y = col * slip_w, row * slip_h
            canvas.line(x - CUT_MARK, y, x + CUT_MARK, y)
            canvas.line(x, y - CUT_MARK, x, y + CUT_MARK)


def _slip(
    canvas: Canvas,
    slip: Slip,
    x: float,
    y: float,
    w: float,
    h: float,
    title: str,
    group_label: str,
    meeting_id: str,
) -> None:
    margin = 7 * mm
    _qr(canvas, slip.url, x + w - margin - QR_SIZE, y + (h - QR_SIZE) / 2)
    text_x = x + margin
    top = y + h - margin - 4 * mm
    canvas.setFont(FONT, 13)
    canvas.drawString(text_x, top, "民主测评投票凭证")
    canvas.setFont(FONT, 9)
    lines = [
        title,
        f"评议组别：{group_label}",
        f"会议：{meeting_id[:8]}",
        "",
        "请用手机扫描右侧二维码投票。",
        "本凭证只能投票一次，",
        "不记名：请勿拍照、转交。",
    ]
    for n, line in enumerate(lines, start=1):
        canvas.drawString(text_x, top - n * 5 * mm, line[:22])
    canvas.setFont(FONT, 11)
    canvas.drawString(text_x, y + margin, f"编号 No. {slip.serial}")


def _qr(canvas: Canvas, data: str, x: float, y: float) -> None:
    """The QR code of ``data``, its quiet zone included, as a QR_SIZE square at (x, y)."""
    matrix = segno.make_qr(data, error="m").matrix
    module = QR_SIZE / (len(matrix) + 8)  # four modules of quiet zone each side
    canvas.setFillGray(0)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                canvas.rect(
                    x + (c + 4) * module,
                    y + QR_SIZE - (r + 5) * module,
                    module,
                    module,
                    stroke=0,
                    fill=1,
                )
