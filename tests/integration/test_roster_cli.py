"""`appraisal roster template|import` through the CLI on both stores: the template the
office fills in, the commands a filled one becomes, and the files it must refuse whole."""

import json
import zipfile
from pathlib import Path
from typing import Any
from uuid import UUID

import openpyxl
import pytest
from click.testing import CliRunner, Result

from domain.campaign import Campaign
from domain.roles import ORGANIZER
from entrypoints import roster
from entrypoints.cli import main
from entrypoints.demo import load_rules
from entrypoints.signing import new_id
from service.keyfiles import write_private_key
from service.settings import Settings
from tests.integration.test_excel import env_of
from tests.support import Harness

RULES = load_rules("seed002_dazehu.json")
SECRETARY = next(c for c in RULES["categories"] if c["code"] == "secretary")
NAMED = [g for g in RULES["groups"] if not g["anonymous"]]
HEADER = [
    "姓名",
    "职务",
    "单位/社区",
    "类别",
    "账号ID（可选）",
    "测评对象ID（可选，留空自动生成）",
]


def cli(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env_of(settings))


@pytest.fixture
def office(harness: Harness, tmp_path: Path) -> dict[str, Any]:
    """A draft campaign under seed 002's rules and its organizer's key file."""
    organizer = harness.register(ORGANIZER, name="组织部")
    key = tmp_path / "organizer.key"
    write_private_key(key, organizer.key)
    campaign_id = new_id()
    harness.submit(
        organizer.envelope(
            "campaign.create", campaign_id=campaign_id, title="述职评议", year=2026, rules=RULES
        )
    )
    return {
        "harness": harness,
        "organizer": organizer,
        "key": str(key),
        "campaign_id": campaign_id,
    }


def filled(path: Path, rows: list[list[Any]], evaluators: dict[str, list[list[Any]]]) -> Path:
    """The template as written by `roster template`, filled as an office would."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["测评对象"]
    for row in rows:
        sheet.append(row)
    for name, lines in evaluators.items():
        for line in lines:
            workbook[name].append(line)
    out = path.with_name("filled.xlsx")
    workbook.save(out)
    return out


def template(settings: Settings, office: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "roster.xlsx"
    done = cli(settings, "roster", "template", "-o", str(path), "--campaign", office["campaign_id"])
    assert done.exit_code == 0, done.output
    return path


def import_(settings: Settings, office: dict[str, Any], path: Path, *extra: str) -> Result:
    args = ["roster", "import", str(path), "--campaign", office["campaign_id"]]
    return cli(settings, *args, "--key", office["key"], *extra)


def test_template_has_the_rules_sheets_and_headers(
    store_settings: Settings, office: dict[str, Any], tmp_path: Path
) -> None:
    workbook = openpyxl.load_workbook(template(store_settings, office, tmp_path))
    assert workbook.sheetnames == ["测评对象", *(f"测评人-{g['label']}"[:31] for g in NAMED)]
    assert [c.value for c in workbook["测评对象"][1]] == HEADER
    offered = workbook["测评对象"].data_validations.dataValidation[0].formula1
    assert offered == '"' + ",".join(c["label"] for c in RULES["categories"]) + '"'


def test_import_submits_the_roster_and_evaluators(
    store_settings: Settings, office: dict[str, Any], tmp_path: Path
) -> None:
    harness = office["harness"]
    evaluator = harness.register("evaluator", name="联点干部")
    sheet = f"测评人-{NAMED[1]['label']}"[:31]
    rows = [
        ["傅海", "党总支书记", "南塘村", SECRETARY["label"]],
        [None, None, None, None],  # an empty row in the middle is skipped
        ["傅海", "村委委员", "南塘村", "cadre", evaluator.actor_id],  # same name, other post
    ]
    path = filled(
        template(store_settings, office, tmp_path), rows, {sheet: [["某", evaluator.actor_id]]}
    )
    printed = import_(store_settings, office, path)
    assert printed.exit_code == 0, printed.output
    (envelope,) = [json.loads(line) for line in printed.output.splitlines()]
    assert envelope["command"]["type"] == "campaign.add_appraisees"
    assert harness.system.app.get(UUID(office["campaign_id"]), Campaign).appraisees == {}

    done = import_(store_settings, office, path, "--submit")
    assert done.exit_code == 0, done.output
    campaign = harness.system.app.get(UUID(office["campaign_id"]), Campaign)
    roster = sorted(
        (a["name"], a["position"], a["unit"], a["category"], a.get("actor_id"))
        for a in campaign.appraisees.values()
    )
    assert roster == [
        ("傅海", "党总支书记", "南塘村", "secretary", None),
        ("傅海", "村委委员", "南塘村", "cadre", evaluator.actor_id),
    ]
    meeting_id = new_id()
    early = import_(store_settings, office, path, "--meeting", meeting_id, "--submit")
    assert early.exit_code == 1 and "while the campaign is draft" in early.output
    harness.submit(
        office["organizer"].envelope("campaign.publish", campaign_id=office["campaign_id"])
    )
    opened = import_(store_settings, office, path, "--meeting", meeting_id, "--submit")
    assert opened.exit_code == 0, opened.output
    meeting = harness.system.app.find(UUID(meeting_id))
    assert meeting is not None and sorted(meeting.appraisee_ids) == sorted(campaign.appraisees)


BAD = [
    ([["傅海", "书记", "南塘村", "书记"]], "测评对象!D2 类别: '书记' is not a category"),
    ([["傅海", "书记", "南塘村", '=HYPERLINK("x")']], "测评对象!D2 类别: formulas are not"),
    ([["傅海", None, "南塘村", "cadre"]], "测评对象!B2 职务: required"),
    (
        [["傅海", "书记", "南塘村", "cadre"], [], ["傅海", "书记", "南塘村", "secretary"]],
        "测评对象!row 4: 傅海/书记/南塘村 is already on row 2",
    ),
    (
        [["傅海", "书记", "南塘村", "cadre", "not-a-uuid"]],
        "测评对象!E2 账号ID（可选）: 'not-a-uuid'",
    ),
    ([["傅海", "书记", "南塘村", "cadre", None, None, "extra"]], "values beyond"),
    ([["傅海\n", "书记", "南塘村", "cadre"]], None),  # trailing whitespace is trimmed: fine
    ([["傅\n海", "书记", "南塘村", "cadre"]], "测评对象!A2 姓名: must be one line"),
    ([["傅海" * 101, "书记", "南塘村", "cadre"]], "测评对象!A2 姓名: longer than 200"),
    ([], "no appraisees on sheet 测评对象"),
]


@pytest.mark.parametrize(("rows", "message"), BAD)
def test_a_bad_cell_is_named_and_nothing_is_sent(
    store_settings: Settings,
    office: dict[str, Any],
    tmp_path: Path,
    rows: list[list[Any]],
    message: str | None,
) -> None:
    harness = office["harness"]
    before = harness.size
    path = filled(template(store_settings, office, tmp_path), rows, {})
    done = import_(store_settings, office, path, "--submit")
    if message is None:
        assert done.exit_code == 0, done.output
        return
    assert done.exit_code == 1
    assert done.output.startswith("error: ") and message in done.output, done.output
    assert len(done.output.strip().splitlines()) == 1
    assert harness.size == before


def test_evaluator_sheets_need_a_meeting_and_known_actors(
    store_settings: Settings, office: dict[str, Any], tmp_path: Path
) -> None:
    sheet = f"测评人-{NAMED[0]['label']}"[:31]
    actor = new_id()
    path = filled(
        template(store_settings, office, tmp_path),
        [["朱浩", "书记", "南塘村", "secretary"]],
        {sheet: [["甲", actor], ["乙", actor]]},
    )
    done = import_(store_settings, office, path)
    assert (
        done.exit_code == 1
        and f"{sheet}!row 3: evaluator {actor} is already on row 2" in done.output
    )


def test_hostile_files_are_refused_before_parsing(
    store_settings: Settings, office: dict[str, Any], tmp_path: Path
) -> None:
    not_xlsx = tmp_path / "roster.xlsx"
    not_xlsx.write_text("姓名,职务\n")
    assert "not an .xlsx workbook" in import_(store_settings, office, not_xlsx).output

    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    done = import_(store_settings, office, bomb)
    assert done.exit_code == 1 and "unpacks to" in done.output

    wrong = tmp_path / "wrong.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "测评对象"
    workbook.active.append(["名字", "职务"])
    workbook.save(wrong)
    done = import_(store_settings, office, wrong)
    assert done.exit_code == 1 and "测评对象!A1: header '名字', expected '姓名'" in done.output

    unknown = import_(store_settings, {**office, "campaign_id": new_id()}, wrong)
    assert unknown.exit_code == 1 and "no Campaign" in unknown.output


def test_too_many_rows(store_settings: Settings, office: dict[str, Any], tmp_path: Path) -> None:
    rows = [[f"人{i}", "委员", "南塘村", "cadre"] for i in range(roster.MAX_ROWS + 1)]
    path = filled(template(store_settings, office, tmp_path), rows, {})
    done = import_(store_settings, office, path)
    assert done.exit_code == 1 and f"more than {roster.MAX_ROWS} rows" in done.output
