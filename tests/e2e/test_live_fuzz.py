"""Generated commands inside a live campaign: the OpenAPI document's command bodies with
real ids put back in (the campaign's, its meeting's, its appraisees', its ballots'), signed
by each participant in turn. Empty-store fuzzing stops at "not found"; this reaches the
handlers' own checks. Never a 5xx, every answer as documented, a refusal writes nothing."""

import copy
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.e2e.test_openapi import CHECKS, signed_by
from tests.support import Harness, Signer, fuzz_examples
from tests.support.http import HttpCampaign, proposed_campaign


@pytest.fixture
def live(harness: Harness, client: FlaskClient) -> HttpCampaign:
    """Published, balloted, its meeting closed and results proposed: most commands apply."""
    return proposed_campaign(client, harness)


def real_ids(c: HttpCampaign) -> dict[str, list[str]]:
    people = [c.organizer, c.committee, c.inspector, c.teller, *c.leaders, *c.cadres]
    return {
        "campaign_id": [c.id],
        "meeting_id": [c.meeting],
        "appraisee_id": c.appraisees,
        "ballot_id": sorted(c.casts),
        "actor_id": [p.actor_id for p in people],
    }


def with_real_ids(command: dict[str, Any], ids: dict[str, list[str]], data: Any) -> None:
    """Put real ids into some of the id fields, rows' appraisees included."""
    for name in list(command):
        if name in ids and data.draw(st.booleans()):
            command[name] = data.draw(st.sampled_from(ids[name]))
    rows = command.get("rows")
    if isinstance(rows, list):
        for row in rows:
            if isinstance(row, dict) and "appraisee_id" in row and data.draw(st.booleans()):
                row["appraisee_id"] = data.draw(st.sampled_from(ids["appraisee_id"]))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_generated_commands_in_a_live_campaign_never_fail_the_server(
    app: Flask, harness: Harness, live: HttpCampaign, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema["/api/v1/commands"]["POST"]
    ids = real_ids(live)
    signers: list[Signer] = [
        harness.admin,
        live.organizer,
        live.committee,
        live.inspector,
        live.teller,
        live.leaders[0],
        live.cadres[0],
    ]

    @given(
        case=operation.as_strategy(generation_mode=mode),
        signer=st.sampled_from(signers),
        data=st.data(),
    )
    @settings(
        max_examples=fuzz_examples(60),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def keeps_to_the_document(case: schemathesis.Case, signer: Signer, data: Any) -> None:
        body = copy.deepcopy(case.body)
        if isinstance(body, dict) and isinstance(body.get("command"), dict):
            with_real_ids(body["command"], ids, data)
        case.body = signed_by(signer, body)
        before = harness.size
        response = case.call_and_validate(checks=CHECKS)
        if response.status_code >= 400:
            assert harness.size == before, response.text

    keeps_to_the_document()
