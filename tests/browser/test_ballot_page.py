"""A resident votes with a printed slip in a real browser (issue 16), on both stores:
slips issued by the CLI → the meeting opened with their public keys → the slip's URL
opened on a phone-sized screen → too many 优秀 → the page warns → the voter fixes it →
signed in the page and accepted → receipt shown → the results count the ballot; the
same slip again is refused in plain Chinese."""

import json
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote, urlencode

import requests
from click.testing import CliRunner
from flask.testing import FlaskClient
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.wait import WebDriverWait

from entrypoints.cli import main
from tests.e2e.test_serve import serving
from tests.support import Harness, Signer
from tests.support.http import Api, HttpCampaign
from tests.witnesses import RunningWitness, new_witness_key

WAIT_SECONDS = 15


def issue_slips(c: HttpCampaign, base: str, tmp_path: Path) -> tuple[list[str], list[str]]:
    """Two resident slips by the CLI: their URLs, and balloting.open's public keys."""
    out = tmp_path / "slips.json"
    result = CliRunner().invoke(
        main,
        ["credentials", "issue", "--campaign", c.id, "--meeting", c.meeting,
         "--group", "resident_rep", "--count", "2", "-o", str(out), "--json",
         "--base-url", base],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [credentials] = json.loads(result.stdout)["credentials"]
    return [s["url"] for s in json.loads(out.read_text())["slips"]], credentials["public_keys"]


def choose(browser: WebDriver, row: int, label: str) -> None:
    card = browser.find_elements(By.CSS_SELECTOR, "#rows fieldset")[row]
    card.find_element(By.XPATH, f".//button[text()='{label}']").click()


def visible(browser: WebDriver, element_id: str) -> str:
    wait = WebDriverWait(browser, WAIT_SECONDS)
    return wait.until(shown.visibility_of_element_located((By.ID, element_id))).text


def verify_outcome(
    browser: WebDriver, base: str, log_key: str, receipt: str, witnesses: Sequence[str] = ()
) -> str:
    """The /verify page's verdict on `receipt` against `log_key` (and `witnesses`' vkeys);
    retried while the latest checkpoint does not yet cover the ballot."""
    browser.get("about:blank")
    fragment = urlencode([("log", log_key), *(("w", w) for w in witnesses)], quote_via=quote)
    browser.get(f"{base}/verify#{fragment}")
    box = browser.find_element(By.ID, "receipt")
    browser.execute_script("arguments[0].value = arguments[1]", box, receipt)

    def verdict(b: WebDriver) -> str | None:
        b.find_element(By.ID, "verify").click()
        result = b.find_element(By.ID, "result")
        if not result.is_displayed() or "稍后再试" in result.text:
            return None
        return result.get_attribute("data-outcome")

    return WebDriverWait(browser, WAIT_SECONDS, poll_frequency=0.5).until(verdict)


def check_on_verify_page(
    browser: WebDriver, base: str, log_key: str, receipt: str, screenshots: Path
) -> None:
    """Proven with the real receipt and log key; not with a tampered receipt or
    another key."""
    assert verify_outcome(browser, base, log_key, receipt) == "ok"
    text = browser.find_element(By.ID, "result").text
    assert "已证明" in text and "未证明" in text
    browser.save_screenshot(str(screenshots / "verify.png"))
    tampered = json.loads(receipt)
    tampered["receipt"]["leaf"]["version"] += 1
    assert verify_outcome(browser, base, log_key, json.dumps(tampered)) == "error"
    assert "回执被改动过" in browser.find_element(By.ID, "result").text
    other_key = Signer().public_key
    assert verify_outcome(browser, base, other_key, receipt) == "error"
    assert "不是由您给出的台账公钥签名" in browser.find_element(By.ID, "result").text


def test_a_resident_votes_with_a_slip_on_a_phone(
    harness: Harness, client: FlaskClient, browser: WebDriver, tmp_path: Path, screenshots: Path
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    with serving(harness.system.settings, tmp_path) as (base, _log):
        urls, public_keys = issue_slips(c, base, tmp_path)
        c.open(more_residents=public_keys)

        browser.get(urls[0])
        visible(browser, "ballot")
        assert "#" not in browser.current_url  # the key left the address bar
        assert browser.find_element(By.ID, "title").text == "2025年度社区干部述职评议"
        assert "社区居民代表" in browser.find_element(By.ID, "subtitle").text
        assert "最多 1 人" in browser.find_element(By.ID, "rules").text
        for row, label in enumerate(["优秀", "优秀", "称职", "不称职"]):
            choose(browser, row, label)
        browser.save_screenshot(str(screenshots / "ballot.png"))
        browser.find_element(By.ID, "submit").click()
        warning = visible(browser, "warning")
        assert "“优秀”选了 2 人，本票最多 1 人" in warning
        browser.save_screenshot(str(screenshots / "ballot-warning.png"))

        browser.find_element(By.ID, "fix").click()
        choose(browser, 1, "称职")
        browser.find_element(By.ID, "submit").click()
        visible(browser, "receipt")
        WebDriverWait(browser, WAIT_SECONDS).until(
            lambda b: b.find_element(By.ID, "receipt-status").text == "有效票"
        )
        ballot_id = browser.find_element(By.ID, "receipt-ballot").text
        qr_loaded = "return document.getElementById('receipt-qr').naturalWidth > 0"
        WebDriverWait(browser, WAIT_SECONDS).until(lambda b: b.execute_script(qr_loaded))
        browser.save_screenshot(str(screenshots / "ballot-receipt.png"))

        receipt = api.read(f"/api/v1/ballots/{ballot_id}")
        assert (receipt["status"], receipt["group"]) == ("valid", "resident_rep")
        saved = browser.execute_script("return document.getElementById('receipt-json').textContent")
        assert json.loads(saved)["ballot_id"] == ballot_id
        check_on_verify_page(
            browser, base, harness.init_result["log_public_key"], saved, screenshots
        )

        browser.get(urls[0])  # the same slip again
        visible(browser, "ballot")
        for row in range(4):
            choose(browser, row, "称职")
        browser.find_element(By.ID, "submit").click()
        assert "此凭证已经投过票" in visible(browser, "status")
        browser.save_screenshot(str(screenshots / "ballot-spent.png"))

    c.vote()
    c.send(c.organizer, "balloting.close", meeting_id=c.meeting)
    c.send(c.organizer, "results.propose")
    results = api.read(f"{c.path}/results", c.organizer)["results"]
    # six valid resident credentials and the paper ballot of the driver, and the page's
    by_id = {r["appraisee_id"]: r for r in results}
    assert by_id[c.appraisees[0]]["groups"]["resident_rep"]["ballots"] == 8
    reconciliation = api.read(f"{c.path}/reconciliation", c.organizer)["items"][0]
    assert reconciliation["groups"]["resident_rep"]["issued"] == 11


def cosigned_size(base: str, vkey: str) -> int:
    """The size of the served checkpoint once the witness `vkey` has cosigned it, else 0."""
    note = requests.get(f"{base}/api/v1/ledger/checkpoint", timeout=5).text
    name = vkey.split("+")[0]
    body, _, lines = note.partition("\n\n")
    cosigned = any(line.startswith(f"\u2014 {name} ") for line in lines.splitlines())
    return int(body.split("\n")[1]) if cosigned else 0


def test_the_verify_page_checks_the_witnesses_the_voter_names(
    harness: Harness, client: FlaskClient, browser: WebDriver, tmp_path: Path
) -> None:
    """With the witness's vkey the page proves the checkpoint cosigned; with a witness
    who never saw this log it refuses (the split-view attack a log alone cannot rule out);
    a vkey whose key ID does not match its key is refused before anything is fetched."""
    vkey = new_witness_key(tmp_path / "w.key", "district.example/witness")
    stranger = new_witness_key(tmp_path / "other.key", "elsewhere.example/witness")
    witness = RunningWitness(
        tmp_path / "w.key", [harness.init_result["log_vkey"]], tmp_path / "w", tmp_path / "w.log"
    )
    witness.start()
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    c.open()
    answer = c.cast(c.residents[0], "resident_rep", c.choices(*["competent"] * 4))
    receipt = json.dumps(answer)
    log_key = harness.init_result["log_public_key"]
    env = {"APPRAISAL_WITNESSES": f"{witness.url}={vkey}"}
    try:
        with serving(harness.system.settings, tmp_path, extra_env=env) as (base, _log):
            deadline = time.monotonic() + WAIT_SECONDS
            while cosigned_size(base, vkey) <= answer["receipt"]["ledger_index"]:
                assert time.monotonic() < deadline, "the witness never cosigned the head"
                time.sleep(0.2)
            outcome = verify_outcome(browser, base, log_key, receipt, [vkey])
            assert outcome == "ok", browser.find_element(By.ID, "result").text
            text = browser.find_element(By.ID, "result").text
            assert "已证明：检查点由您给出的 1 个见证方中的 1 个联署" in text
            assert verify_outcome(browser, base, log_key, receipt, [vkey, stranger]) == "error"
            assert "少于要求的 2 个" in browser.find_element(By.ID, "result").text
            _, key_id, key = stranger.split("+", 2)
            forged = f"{vkey.split('+')[0]}+{key_id}+{key}"
            assert verify_outcome(browser, base, log_key, receipt, [forged]) == "error"
            assert "编号与公钥不符" in browser.find_element(By.ID, "result").text
    finally:
        witness.stop()
