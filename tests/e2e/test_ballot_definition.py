"""The public ballot definition (GET /api/v1/meetings/{id}/ballot): what a ballot page
draws, without login, naming no actor and no key, and agreeing with the server's
own judgement of a ballot's validity."""

import json
import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.e2e.conftest import assert_problem, runtime
from tests.e2e.test_anonymous_logs import access_lines, assert_anonymous
from tests.support import Harness
from tests.support.http import Api, HttpCampaign
from tests.support.scenario import new_id


def test_a_meetings_ballot_is_public_and_names_only_what_a_paper_ballot_shows(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    c.open()
    path = f"/api/v1/meetings/{c.meeting}/ballot"
    body = api.read(path, group="resident_rep")
    assert body["campaign_id"] == c.id
    assert body["campaign_title"] == "2025年度社区干部述职评议"
    assert body["meeting_id"] == c.meeting and body["open"] is True
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["opened_at"])
    assert body["group"] == {
        "code": "resident_rep",
        "label": "社区居民代表",
        "anonymous": True,
        "form": "grade_choice",
    }
    assert [ch["code"] for ch in body["choices"]] == ["excellent", "competent", "incompetent"]
    assert body["choices"][0]["label"] == "优秀"
    assert body["dimensions"] == [] and body["indicators"] == []
    assert [a["appraisee_id"] for a in body["appraisees"]] == c.appraisees
    assert body["appraisees"][0] == {
        "appraisee_id": c.appraisees[0],
        "name": "干部0",
        "position": "社区党支部书记",
        "unit": "东马社区",
    }
    # 4 rows, at most 30 % excellent: one. The same cap the cast judges by (below).
    assert body["validity"] == {
        "abstain_allowed": True,
        "max_choice_share": [{"choice": "excellent", "share": "3/10", "max_count_full_ballot": 1}],
    }
    text = json.dumps(body, ensure_ascii=False)
    for secret in (
        c.organizer.actor_id,
        c.cadres[0].actor_id,
        c.residents[0].public_key,
        c.residents[0].key_id,
    ):
        assert secret not in text
    over = body["validity"]["max_choice_share"][0]["max_count_full_ballot"] + 1
    cast = c.cast(
        c.residents[0],
        "resident_rep",
        c.choices(*["excellent"] * over, *["competent"] * (4 - over)),
    )
    receipt = api.read(f"/api/v1/ballots/{cast['ballot_id']}")
    assert (receipt["status"], receipt["reason"]) == ("invalid", "excess_choice_share:excellent")


def test_named_groups_show_their_dimensions(harness: Harness, client: FlaskClient) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    c.open()
    body = api.read(f"/api/v1/meetings/{c.meeting}/ballot", group="leading_group")
    assert body["group"]["form"] == "dimension_scores"
    assert [d["label"] for d in body["dimensions"]] == ["德", "能", "勤", "绩", "廉"]
    assert body["choices"] == [] and body["scale"] == 100
    assert body["validity"]["max_choice_share"] == []


def test_unknown_meeting_or_group_is_a_404_problem(harness: Harness, client: FlaskClient) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    c.open()
    for path, group in (
        (f"/api/v1/meetings/{new_id()}/ballot", "resident_rep"),
        (f"/api/v1/meetings/{c.id}/ballot", "resident_rep"),  # a campaign is no meeting
        (f"/api/v1/meetings/{c.meeting}/ballot", "no_such_group"),
        (f"/api/v1/meetings/{c.meeting}/ballot", "'; DROP TABLE meetings; --"),
    ):
        assert_problem(api.get(path, group=group), 404, "not-found")
    not_an_id = client.get("/api/v1/meetings/not-a-uuid/ballot?group=x")
    assert_problem(not_an_id, 404, "not-found")
    missing = client.get(f"/api/v1/meetings/{c.meeting}/ballot")
    assert 400 <= missing.status_code < 500 and missing.mimetype == "application/problem+json"


def test_the_pages_are_served_uncached_and_self_contained(client: FlaskClient) -> None:
    for path in ("/ballot", "/verify"):
        page = client.get(path)
        assert page.status_code == 200 and page.mimetype == "text/html"
        assert page.headers["Cache-Control"] == "no-store"
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        html = page.get_data(as_text=True)
        assert 'name="viewport"' in html and "://" not in html  # nothing from elsewhere
        for script in ("/assets/pages/jcs.js", "/assets/pages/envelope.js"):
            assert client.get(script).status_code == 200


def test_a_receipts_qr_code_names_the_ballots_public_facts(
    harness: Harness, client: FlaskClient
) -> None:
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    c.open()
    cast = c.cast(c.residents[0], "resident_rep", c.choices(*["competent"] * 4))
    qr = client.get(f"/receipts/{cast['ballot_id']}/qr.svg?min_position={api.position}")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    assert qr.get_data().startswith(b"<?xml") and b"<svg" in qr.get_data()
    assert_problem(client.get(f"/receipts/{new_id()}/qr.svg"), 404, "not-found")
    assert client.get("/receipts/not-an-id/qr.svg").status_code == 404
    bad = client.get(f"/receipts/{cast['ballot_id']}/qr.svg?min_position=-1")
    assert 400 <= bad.status_code < 500 and bad.mimetype == "application/problem+json"


def test_a_voters_page_requests_are_logged_as_anonymous(
    harness: Harness, app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The ballot page's own requests would time a vote as well as the cast does."""
    api = Api(client, harness)
    c = HttpCampaign(api)
    c.set_up()
    c.open()
    cast = c.cast(c.residents[0], "resident_rep", c.choices(*["competent"] * 4))
    runtime(app).held_lines.release()
    caplog.set_level(logging.INFO, logger="appraisal.http.access")
    caplog.clear()
    for path in (
        "/ballot",
        f"/api/v1/meetings/{c.meeting}/ballot?group=resident_rep",
        f"/receipts/{cast['ballot_id']}/qr.svg?min_position={api.position}",
        "/verify",
    ):
        assert client.get(path).status_code == 200, path
    assert access_lines(caplog.records) == []
    runtime(app).held_lines.release()
    held = access_lines(caplog.records)
    assert len(held) == 4
    for line in held:
        assert_anonymous(line, cast["ballot_id"])
        assert c.meeting not in json.dumps(line)
