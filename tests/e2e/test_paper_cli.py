"""`appraisal paper enter` against a real server on both stores: the teller's entry is
read back with names and Chinese labels, a typed label is the choice (not an invalid
ballot), an entry over the 优秀 share is warned about, nothing is sent without
confirmation, and a refusal prints the problem in Chinese with a non-zero exit."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from entrypoints.cli import main
from service.keyfiles import write_private_key
from tests.support import Harness
from tests.support.http import Api, HttpCampaign


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    served = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{served.server_port}"
    served.shutdown()
    thread.join()


def test_a_paper_entry_is_read_back_confirmed_and_recorded(
    harness: Harness, client: FlaskClient, server: str, tmp_path: Path
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    serials = ["R-0001"]
    c.open()
    key = tmp_path / "teller.pem"
    write_private_key(key, c.teller.key)
    runner = CliRunner()

    def enter(*choices: str, answer: str | None = None, yes: bool = False) -> tuple[int, str]:
        args = ["paper", "enter", "--server", server, "--key", str(key), "--meeting", c.meeting]
        args += ["--group", "resident_rep", "--serial", serials[0], *(["--yes"] if yes else [])]
        result = runner.invoke(main, [*args, *choices], input=answer)
        return result.exit_code, result.output

    before = harness.size
    # An unknown value is refused before anything is signed: the serial stays unspent.
    code, out = enter("优", "称职", "称职", "称职", yes=True)
    assert code != 0 and "优" in out and harness.size == before
    # Too few choices.
    code, out = enter("称职", yes=True)
    assert code != 0 and harness.size == before
    # Over the 优秀 share: read back, warned, and declined at the prompt: nothing sent.
    code, out = enter("优秀", "优秀", "称职", "弃权", answer="n\n")
    assert code != 0 and harness.size == before
    assert "干部0" in out and "社区党支部书记" in out and "优秀" in out and "弃权" in out
    assert "警告" in out and "无效" in out
    # Labels and codes mixed, confirmed: recorded valid, the labels meant as choices.
    code, out = enter("优秀", "competent", "称职", "不称职", answer="y\n")
    assert code == 0, out
    assert "已录入" in out and "有效" in out and "警告" not in out
    [ballot] = [
        b
        for b in api.read(f"{c.path}/ballots", c.inspector, limit=100)["items"]
        if b["group"] == "resident_rep"
    ]
    assert ballot["status"] == "valid"
    # The same serial again: the server's refusal, in Chinese, non-zero.
    code, out = enter("称职", "称职", "称职", "称职", yes=True)
    assert code != 0 and "当前状态下不能操作" in out and "already used" in out
