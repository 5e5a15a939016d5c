"""The read side over HTTP: who may read what, read-your-writes, paging and 404s."""

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.config import ApiOptions
from domain.roles import ROLES
from projections import catch_up
from tests.e2e.conftest import assert_problem, runtime
from tests.support import Harness
from tests.support.http import bearer, login
from tests.support.scenario import RULES, new_id

CAMPAIGN = "/api/v1/campaigns/{campaign}"
EVERYONE = set(ROLES)
# A cadre reads only their own appraisee's cases (test_reads_by_role); one on no roster, none.
CASES = {"admin", "organizer", "committee", "inspector", "auditor"}
# Path → the roles that may read it (api.reads); everyone else gets 403.
READERS = {
    "/api/v1/campaigns": EVERYONE,
    CAMPAIGN: EVERYONE,
    CAMPAIGN + "/results": EVERYONE,
    CAMPAIGN + "/reconciliation": EVERYONE,
    CAMPAIGN + "/reports": EVERYONE,
    CAMPAIGN + "/disputes": CASES,
    CAMPAIGN + "/ballots": {"inspector", "auditor", "organizer"},
    "/api/v1/rectifications": CASES,
    "/api/v1/actors": {"admin", "auditor", "inspector"},
    "/api/v1/projection": {"admin"},
}
PUBLIC = {"/api/v1/ballots/{ballot}": 404, "/api/v1/ledger/checkpoints": 200}


def create_campaign(harness: Harness) -> str:
    campaign = new_id()
    organizer = harness.register("organizer")
    harness.submit(
        organizer.envelope(
            "campaign.create", campaign_id=campaign, title="测评", year=2025, rules=RULES
        )
    )
    return campaign


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_reads_what_the_table_allows(
    harness: Harness, client: FlaskClient, role: str
) -> None:
    campaign = create_campaign(harness)
    token = login(client, harness.register(role))["token"]
    written = harness.size - 1
    for template, readers in READERS.items():
        path = template.format(campaign=campaign)
        response = client.get(f"{path}?min_position={written}", headers=bearer(token))
        if role in readers:
            assert response.status_code == 200, (path, response.get_json())
        else:
            assert_problem(response, 403, "wrong-role")
    explanation = f"{CAMPAIGN.format(campaign=campaign)}/results/{new_id()}/explanation"
    response = client.get(explanation, headers=bearer(token))
    if role in {"inspector", "auditor", "committee", "organizer", "admin"}:
        assert_problem(response, 404, "not-found")  # allowed, but nobody has a result yet
    else:
        assert_problem(response, 403, "wrong-role")


def test_guarded_reads_need_a_token_and_public_ones_do_not(
    harness: Harness, client: FlaskClient
) -> None:
    campaign = create_campaign(harness)
    for template in READERS:
        response = client.get(template.format(campaign=campaign))
        assert_problem(response, 401, "unauthorized")
    for template, status in PUBLIC.items():
        assert client.get(template.format(ballot=new_id())).status_code == status


def test_unknown_ids_are_404(harness: Harness, client: FlaskClient) -> None:
    token = login(client, harness.register("inspector"))["token"]
    unknown = CAMPAIGN.format(campaign=new_id())
    paths = [
        unknown,
        *(unknown + tail for tail in ("/results", "/ballots", "/reconciliation", "/reports")),
        unknown + "/disputes",
        f"{unknown}/results/{new_id()}/explanation",
        f"/api/v1/ballots/{new_id()}",
        "/api/v1/campaigns/not-a-uuid/results",
        "/api/v1/ballots/not-a-uuid",
    ]
    for path in paths:
        assert_problem(client.get(path, headers=bearer(token)), 404, "not-found")


def test_lists_page_with_limit_and_offset(harness: Harness, client: FlaskClient) -> None:
    created = [create_campaign(harness) for _ in range(3)]
    token = login(client, harness.register("cadre"))["token"]
    written = harness.size - 1
    pages = [
        client.get(
            f"/api/v1/campaigns?limit=2&offset={offset}&min_position={written}",
            headers=bearer(token),
        ).get_json()
        for offset in (0, 2)
    ]
    assert [p["total"] for p in pages] == [3, 3]
    assert [(p["limit"], p["offset"]) for p in pages] == [(2, 0), (2, 2)]
    assert [c["campaign_id"] for p in pages for c in p["items"]] == created
    assert all(c["status"] == "draft" for p in pages for c in p["items"])


def test_checkpoints_are_listed_newest_first(harness: Harness, client: FlaskClient) -> None:
    harness.register("cadre")
    harness.system.ledger.checkpoint_now()
    page = client.get("/api/v1/ledger/checkpoints?limit=1").get_json()
    [latest] = page["items"]
    assert latest["tree_size"] == harness.size
    assert page["total"] >= 2
    assert latest["note"] == client.get("/api/v1/ledger/checkpoint").get_data(as_text=True)


@pytest.fixture
def unprojected(harness: Harness) -> Iterator[Flask]:
    """An app whose views nobody keeps, which waits only briefly for them."""
    options = ApiOptions(checkpointer=False, inprocess_projections=False, read_wait_seconds=0.2)
    app = create_app(system=harness.system, options=options)
    yield app
    runtime(app).close()


def test_a_position_the_views_do_not_reach_in_time_is_503(
    harness: Harness, unprojected: Flask
) -> None:
    client = unprojected.test_client()
    token = login(client, harness.admin)["token"]
    catch_up(harness.read)
    harness.register("organizer")
    written = harness.size - 1
    response = client.get(f"/api/v1/campaigns?min_position={written}", headers=bearer(token))
    body = assert_problem(response, 503, "projection-behind")
    assert response.headers["Retry-After"] == "1"
    assert body["min_position"] == written and body["position"] < written
    catch_up(harness.read)
    response = client.get(f"/api/v1/campaigns?min_position={written}", headers=bearer(token))
    assert response.status_code == 200


def test_a_position_past_the_ledger_is_422(harness: Harness, client: FlaskClient) -> None:
    token = login(client, harness.admin)["token"]
    ahead = harness.size + 1000
    response = client.get(f"/api/v1/campaigns?min_position={ahead}", headers=bearer(token))
    body = assert_problem(response, 422, "position-ahead")
    assert body["ledger_size"] == harness.size
    assert_problem(
        client.get(f"/api/v1/ballots/{new_id()}?min_position={ahead}"), 422, "position-ahead"
    )
