"""The official forms as a printer sees them: each of 附件4, one 附件6 card and 附件7 is
rendered by LibreOffice headless to PDF (the demo's campaigns, exported through the CLI),
and the PDF must show every one-line cell's text, no `###` of a number too wide for its
column, and one page's width per form; its first page becomes a PNG in the screenshots
directory (`make screenshots` writes docs/screenshots/form-*.png).

LibreOffice and poppler come from Debian (.ci/ensure-libreoffice, which `make test`
runs); without them the test fails rather than skips, as the browser tests do."""

import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from entrypoints.demo import run_demo
from projections.forms import EVALUATION, RECTIFICATION, SUMMARY
from service.settings import Settings
from tests.integration.test_excel import export

SOFFICE, PDFTOTEXT, PDFTOPPM, PDFINFO = "soffice", "pdftotext", "pdftoppm", "pdfinfo"


def single_sheet(workbook_path: Path, sheet: str, out: Path) -> Path:
    """The exported workbook with only `sheet` left, its layout untouched."""
    workbook = openpyxl.load_workbook(workbook_path)
    for other in [name for name in workbook.sheetnames if name != sheet]:
        del workbook[other]
    workbook.save(out)
    return out


def display_width(text: str) -> int:
    """Columns a text takes: two for a CJK character, one otherwise."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def one_line_texts(path: Path) -> list[str]:
    """Every non-empty cell whose text fits its column on one line: what the PDF must
    show verbatim (a wrapped cell's lines interleave with its neighbours' in text)."""
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    texts = []
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is None or str(cell.value) == "":
                continue
            text = str(cell.value)
            width = sheet.column_dimensions[cell.column_letter].width or 8
            if "\n" not in text and display_width(text) < width:
                texts.append(text)
    return texts


def pdf_text(pdf: Path) -> str:
    return subprocess.run(
        [PDFTOTEXT, "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def page_widths(pdf: Path) -> int:
    """How many pages wide the rendering is: LibreOffice prints columns that do not fit
    across on further pages, which pdfinfo shows as more pages than rows need."""
    info = subprocess.run([PDFINFO, str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


@pytest.mark.parametrize("store_settings", ["sqlite"], indirect=True)
def test_the_three_forms_render_to_pdf_with_every_cell_shown(
    store_settings: Settings, tmp_path: Path, screenshots: Path
) -> None:
    for program in (SOFFICE, PDFTOTEXT, PDFTOPPM, PDFINFO):
        if shutil.which(program) is None:
            pytest.fail(f"{program} is missing: run .ci/ensure-libreoffice")
    summary = run_demo(store_settings, lambda _: None)
    city = summary["campaigns"][0]["campaign_id"]  # seed 002: secretaries, plans, choices
    exported = tmp_path / "forms.xlsx"
    assert export(store_settings, city, "-o", str(exported)).exit_code == 0
    names = openpyxl.load_workbook(exported).sheetnames
    card = next(name for name in names if name.startswith(EVALUATION))
    chosen = {
        "form-4-summary": SUMMARY,
        "form-6-evaluation": card,
        "form-7-rectification": RECTIFICATION,
    }
    sheets = {
        stem: single_sheet(exported, sheet, tmp_path / f"{stem}.xlsx")
        for stem, sheet in chosen.items()
    }
    profile = tmp_path / "libreoffice-profile"
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            *map(str, sheets.values()),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    for stem, xlsx in sheets.items():
        pdf = tmp_path / f"{stem}.pdf"
        text = pdf_text(pdf)
        flat = "".join(text.split())
        assert "###" not in text, f"{stem}: a number too wide for its column"
        missing = [t for t in one_line_texts(xlsx) if "".join(t.split()) not in flat]
        assert missing == [], f"{stem}: not on the page: {missing}"
        assert page_widths(pdf) == 1, f"{stem}: spills onto further pages"
        subprocess.run(
            [
                PDFTOPPM,
                "-png",
                "-r",
                "110",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(pdf),
                str(screenshots / stem),
            ],
            check=True,
            capture_output=True,
        )
        assert (screenshots / f"{stem}.png").stat().st_size > 10_000
