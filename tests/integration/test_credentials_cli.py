"""`appraisal credentials issue`: slips carry the only copy of each private key, the
balloting.open body lists exactly their public keys, sorted, and bad input is refused
with one line and nothing written."""

import json
import re
import urllib.parse
import uuid
from pathlib import Path
from typing import Any
from unittest.mock import patch

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.canonical import b64url_decode
from domain.keys import encode_public_key, raw_public_key
from entrypoints.cli import main
from tests.support import Harness
from tests.support.scenario import CityCampaign

CAMPAIGN, MEETING = str(uuid.uuid4()), str(uuid.uuid4())
ISSUE = ["credentials", "issue", "--campaign", CAMPAIGN, "--meeting", MEETING]
OFFLINE_NAMES = ("--title", "2025年度社区干部述职评议", "--label", "社区居民代表")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*ISSUE, *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_slips_hold_the_keys_the_body_lists_sorted(tmp_path: Path) -> None:
    out = tmp_path / "slips.json"
    code, stdout, _ = run(
        "--group", "resident_rep", "--count", "12", "-o", str(out), "--json",
        "--base-url", "http://127.0.0.1:9000/",
    )  # fmt: skip
    assert code == 0, stdout
    slips = json.loads(out.read_text())
    assert (slips["meeting_id"], slips["group"]) == (MEETING, "resident_rep")
    assert [s["serial"] for s in slips["slips"]] == [f"{n:04d}" for n in range(1, 13)]
    for slip in slips["slips"]:
        page, _, fragment = slip["url"].partition("#")
        assert page == "http://127.0.0.1:9000/ballot"
        fields = dict(urllib.parse.parse_qsl(fragment, strict_parsing=True))
        assert fields.keys() == {"v", "m", "g", "s", "k"}
        assert (fields["v"], fields["m"], fields["g"], fields["s"]) == (
            "v1",
            MEETING,
            "resident_rep",
            slip["serial"],
        )
        key = Ed25519PrivateKey.from_private_bytes(b64url_decode(fields["k"]))
        assert encode_public_key(raw_public_key(key)) == slip["public_key"]
    body = json.loads(stdout)
    assert body == {
        "type": "balloting.open",
        "campaign_id": CAMPAIGN,
        "meeting_id": MEETING,
        "credentials": [
            {
                "group": "resident_rep",
                "public_keys": sorted(s["public_key"] for s in slips["slips"]),
            }
        ],
    }
    assert len(set(body["credentials"][0]["public_keys"])) == 12
    for slip in slips["slips"]:  # the organiser's copy names no private key
        assert slip["url"].rpartition("k=")[2] not in stdout


def test_a_pdf_of_a4_pages_eight_slips_each(tmp_path: Path) -> None:
    out = tmp_path / "slips.pdf"
    code, stdout, _ = run(
        "--group", "resident_rep", "--count", "9", "-o", str(out), *OFFLINE_NAMES
    )  # fmt: skip
    assert code == 0
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert re.search(rb"/Count 2\b", pdf)  # 9 slips: two pages
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in pdf  # A4
    assert b"STSong-Light" in pdf
    assert len(json.loads(stdout)["credentials"][0]["public_keys"]) == 9


def test_into_adds_a_second_group_to_the_same_opening(tmp_path: Path) -> None:
    first = tmp_path / "open.json"
    code, stdout, _ = run(
        "--group", "unit_rep", "--count", "3", "-o", str(tmp_path / "u.pdf"), *OFFLINE_NAMES
    )  # fmt: skip
    first.write_text(stdout)
    code, stdout, _ = run(
        "--group", "resident_rep", "--count", "5", "-o", str(tmp_path / "r.pdf"),
        "--into", str(first), *OFFLINE_NAMES,
    )  # fmt: skip
    assert code == 0
    groups = {c["group"]: len(c["public_keys"]) for c in json.loads(stdout)["credentials"]}
    assert groups == {"unit_rep": 3, "resident_rep": 5}
    again = run("--group", "unit_rep", "--count", "1", "-o", str(tmp_path / "x.pdf"),
                "--into", str(first))  # fmt: skip
    assert again[0] == 1 and "already issues credentials to group unit_rep" in again[2]
    assert not (tmp_path / "x.pdf").exists()


def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "slips.pdf"
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"type": "balloting.open", "campaign_id": CAMPAIGN,
                                 "meeting_id": str(uuid.uuid4())}))  # fmt: skip
    for args, message in (
        (["--group", "a b", "--count", "1"], "is not a group code"),
        (["--group", "r", "--count", "1", "--submit"], "--submit needs --key and --server"),
        (["--group", "r", "--count", "1", "--server", "http://x"], "go with --submit"),
        (["--group", "r", "--count", "1", "--into", str(other)], "another campaign's or meeting"),
    ):
        code, _, stderr = run(*args, "-o", str(out))
        assert code == 1 and stderr.startswith("error: ") and message in stderr, stderr
        assert len(stderr.strip().splitlines()) == 1
        assert not out.exists()
    code, _, _ = run("--group", "r", "--count", "0", "-o", str(out))
    assert code == 2 and not out.exists()


def test_a_refused_submission_leaves_no_slips(tmp_path: Path) -> None:
    key = tmp_path / "organiser.key"
    CliRunner().invoke(main, ["keys", "new", "-o", str(key)])
    out = tmp_path / "slips.pdf"
    code, _, stderr = run(
        "--group", "r", "--count", "2", "-o", str(out), "--submit", "--key", str(key),
        "--server", "http://127.0.0.1:9", *OFFLINE_NAMES,
    )  # fmt: skip
    assert code == 1 and "cannot reach http://127.0.0.1:9" in stderr
    assert not out.exists()


def test_on_the_server_slips_print_the_campaign_title_and_group_label(
    harness: Harness, tmp_path: Path
) -> None:
    """Without --title and --label the names come from the store; a named group, an
    unknown group or campaign, or no store at all are refused with one line and no PDF."""
    c = CityCampaign(harness)
    c.set_up()
    settings = harness.system.settings
    env = {"APPRAISAL_DATA_DIR": str(settings.data_dir),
           "APPRAISAL_DATABASE_URL": settings.database_url}  # fmt: skip
    printed: dict[str, str] = {}

    def capture(path: Path, slips: Any, *, title: str, group_label: str, meeting_id: str) -> None:
        printed.update(title=title, label=group_label)
        path.write_bytes(b"%PDF-")

    out = tmp_path / "slips.pdf"
    issue = ["credentials", "issue", "--campaign", c.id, "--meeting", c.meeting, "--count", "2"]
    with patch("entrypoints.credentials_cli.write_slips", capture):
        result = CliRunner().invoke(
            main, [*issue, "--group", "resident_rep", "-o", str(out)], env=env
        )
        assert result.exit_code == 0, result.output
        assert printed == {"title": "2025年度社区干部述职评议", "label": "社区居民代表"}
        out.unlink()
        for group, campaign, message in (
            ("leading_group", c.id, "votes by name"),
            ("resident", c.id, "unknown evaluator group"),
            ("resident_rep", str(uuid.uuid4()), "no Campaign"),
        ):
            args = ["credentials", "issue", "--campaign", campaign, "--meeting", c.meeting,
                    "--count", "2", "--group", group, "-o", str(out)]  # fmt: skip
            result = CliRunner().invoke(main, args, env=env)
            assert result.exit_code == 1 and message in result.stderr, result.output
            assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()
        nowhere = {
            **env,
            "APPRAISAL_DATA_DIR": str(tmp_path / "none"),
            "APPRAISAL_DATABASE_URL": "",
        }
        result = CliRunner().invoke(
            main, [*issue, "--group", "resident_rep", "-o", str(out)], env=nowhere
        )
        assert result.exit_code == 1 and "pass --title and --label" in result.stderr
        assert not out.exists()
