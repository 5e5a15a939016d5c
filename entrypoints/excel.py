"""`appraisal export xlsx`: one workbook of a campaign's official forms, laid out for
print (`projections.workbook`), in the full view: the operator running it holds the
database, so the anonymity floor would hide nothing from them.

The checkpoint is taken after the views are read (signing one, as `appraisal
ledger checkpoint` would, if none covers the tree yet): every fact on the forms
is then included in the tree it names. The file is written to a temporary name
beside the target and renamed over it, so a failure never leaves half a workbook.
"""

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from bootstrap import Services
from domain.roles import PRIVILEGED
from projections import catch_up
from projections.forms import forms, gather
from projections.workbook import build_workbook, heading_for


@dataclass(frozen=True)
class Exported:
    campaign_id: str
    path: Path
    day: date
    sheets: dict[str, int]  # sheet name -> data rows
    checkpoint: dict[str, Any]  # {"tree_size", "root"}

    def to_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "campaign_id": self.campaign_id,
            "date": self.day.isoformat(),
            "sheets": self.sheets,
            "checkpoint": self.checkpoint,
        }


def export_workbook(
    services: Services,
    campaign_id: str,
    path: Path,
    today: date,
    on_step: Callable[[str], object] = lambda _: None,
) -> Exported:
    """Write CAMPAIGN's official forms to `path` as of `today` (填报日期, and the day
    rectification items are judged overdue)."""
    on_step("reading the campaign from the read models")
    catch_up(services.read)
    sources = gather(services.read, campaign_id, today, PRIVILEGED)
    on_step("building the forms")
    built = forms(sources)
    checkpoint = services.system.ledger.tree_head()
    on_step(f"writing {path}")
    save_atomically(build_workbook(heading_for(sources.campaign, today, checkpoint), built), path)
    sheets = {form.name: len(form.rows) for form in built}
    return Exported(sources.campaign["campaign_id"], path, today, sheets, checkpoint)


def save_atomically(workbook: Workbook, path: Path) -> None:
    """Save under a temporary name in the target's directory, then rename over the target."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "xb") as out:
            workbook.save(out)
        os.replace(temporary, path)
    except BaseException as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OSError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise
