"""The one campaign scenario the integration and e2e tests drive: seed 000's city
campaign with named, anonymous and paper ballots, over a pluggable transport.

A transport is the command bus (`tests.support.Harness`) or HTTP with every answer
checked against the served OpenAPI document (`tests.support.http.Api`); the scenario
builds and signs the same envelopes for both."""

import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from domain.balloting import parse_rows
from domain.ballots import Ballot
from domain.envelope import parse_timestamp
from entrypoints.signing import Signer
from tests.support import Harness

RULES = json.loads((Path(__file__).parents[2] / "service/rulesets/seed000_city.json").read_text())
DIMENSIONS = ("morality", "ability", "diligence", "performance", "integrity")
# An assessment the seed's rules do not declare (seed 002's 党建述职评议, two values).
PARTY_BUILDING = {
    "code": "party_building",
    "label": "党建述职评议",
    "values": [{"code": "good", "label": "好"}, {"code": "poor", "label": "差"}],
}


def new_id() -> str:
    return str(uuid.uuid4())


class Transport(Protocol):
    """Where the scenario's signed envelopes go."""

    @property
    def harness(self) -> Harness: ...

    def register(self, *roles: str, name: str) -> Signer: ...

    def accept(self, envelope: dict[str, Any]) -> Any:
        """The answer to an accepted command, in the transport's own form; a refusal
        raises (the bus's domain error, or a failed assertion over HTTP)."""
        ...

    def result(self, answer: Any) -> dict[str, Any]:
        """The command's result members of an `accept` answer."""
        ...

    def opened_at(self, meeting_id: str, group: str) -> str:
        """The meeting's opening as its ballot definition publishes it: what a credential
        ballot signs as `issued_at`."""
        ...


class CityCampaign:
    """Seed 000's city campaign: its participants, its meeting and its ballots."""

    def __init__(
        self,
        transport: Transport,
        year: int = 2025,
        cadres: Sequence[Signer] | None = None,
    ) -> None:
        self.transport = transport
        self.h = transport.harness
        self.year = year
        self.id = new_id()
        self.meeting = new_id()
        register = transport.register
        self.organizer = register("organizer", name="组织部")
        self.committee = register("committee", name="党委会")
        self.inspector = register("inspector", name="纪检")
        self.auditor = register("auditor", name="审计")
        self.teller = register("teller", name="计票员")
        self.leaders = [register("evaluator", name=f"领导{i}") for i in range(3)]
        self.city_leader = register("evaluator", name="包片市级领导")
        self.cadres = list(cadres or [register("cadre", name=f"干部{i}") for i in range(4)])
        self.appraisees = [new_id() for _ in self.cadres]
        self.residents = [Signer() for _ in range(8)]  # one-time credentials
        self.units = [Signer() for _ in range(3)]
        self.paper_serial = "R-0001"
        self.ballots: list[Ballot] = []  # as cast, for an in-memory derivation
        self.casts: dict[str, dict[str, Any]] = {}  # ballot id → the command's result
        self.groups: dict[str, str] = {}  # ballot id → its group
        self.credential_keys: set[str] = set()  # public keys the meeting issued as credentials

    def send(self, who: Signer, command_type: str, **fields: Any) -> Any:
        if command_type == "balloting.open":
            for issued in fields.get("credentials", []):
                self.credential_keys |= set(issued["public_keys"])
        return self.transport.accept(who.envelope(command_type, campaign_id=self.id, **fields))

    def set_up(self, rules: dict[str, Any] = RULES, year: int | None = None) -> None:
        year = self.year if year is None else year
        self.send(
            self.organizer,
            "campaign.create",
            title=f"{year}年度社区干部述职评议",
            year=year,
            rules=rules,
            jurisdiction="某市",
            period={"start": "2026-01-07", "end": "2026-01-17"},
        )
        self.send(
            self.organizer,
            "campaign.add_appraisees",
            appraisees=[
                {
                    "appraisee_id": appraisee,
                    "name": f"干部{i}",
                    "position": "社区党支部书记",
                    "unit": "东马社区",
                    "category": "cadre",
                    "actor_id": cadre.actor_id,
                }
                for i, (appraisee, cadre) in enumerate(
                    zip(self.appraisees, self.cadres, strict=True)
                )
            ],
        )
        self.send(self.organizer, "campaign.name_committee", actor_ids=[self.committee.actor_id])
        self.send(self.organizer, "campaign.publish")

    def open(self, more_residents: Sequence[str] = ()) -> Any:
        """Open the meeting; `more_residents` are public keys of further resident
        credentials (from printed slips) besides the scenario's own."""
        return self.send(
            self.organizer,
            "balloting.open",
            meeting_id=self.meeting,
            credentials=[
                {
                    "group": "resident_rep",
                    "public_keys": [k.public_key for k in self.residents] + list(more_residents),
                },
                {"group": "unit_rep", "public_keys": [k.public_key for k in self.units]},
            ],
            paper=[{"group": "resident_rep", "serials": [self.paper_serial]}],
            evaluators=[
                {"group": "leading_group", "actor_ids": [s.actor_id for s in self.leaders]},
                {"group": "city_leaders", "actor_ids": [self.city_leader.actor_id]},
                {"group": "self", "actor_ids": [c.actor_id for c in self.cadres]},
            ],
        )

    def ballot(
        self, who: Signer, group: str, rows: list[dict[str, Any]], **extra: Any
    ) -> dict[str, Any]:
        """A signed ballot.cast envelope (not yet sent); a credential's signs the meeting's
        opening as `issued_at`, as the ballot page does."""
        if who.public_key in self.credential_keys and "issued_at" not in extra:
            extra["issued_at"] = parse_timestamp(self.transport.opened_at(self.meeting, group))
        return who.envelope(
            "ballot.cast",
            campaign_id=self.id,
            meeting_id=self.meeting,
            group=group,
            rows=rows,
            **{"ballot_id": new_id(), **extra},
        )

    def cast(self, who: Signer, group: str, rows: list[dict[str, Any]], **extra: Any) -> Any:
        envelope = self.ballot(who, group, rows, **extra)
        answer = self.transport.accept(envelope)
        ballot_id = envelope["command"]["ballot_id"]
        self.ballots.append(Ballot(ballot_id, group, parse_rows(rows)))
        self.casts[ballot_id] = self.transport.result(answer)
        self.groups[ballot_id] = group
        return answer

    def choices(self, *codes: str) -> list[dict[str, Any]]:
        return [
            {"appraisee_id": a, "choice": c} for a, c in zip(self.appraisees, codes, strict=True)
        ]

    def vote(self) -> None:
        """Every named evaluator, every unit credential, six residents validly, one
        resident with too many 优秀 (invalid), one paper ballot abstaining on a row."""
        for n, leader in enumerate(self.leaders):
            self.cast(
                leader,
                "leading_group",
                [
                    {"appraisee_id": a, "scores": dict.fromkeys(DIMENSIONS, 90 - 5 * i + n)}
                    for i, a in enumerate(self.appraisees)
                ],
            )
        self.cast(
            self.city_leader,
            "city_leaders",
            self.choices("excellent", "competent", "competent", "incompetent"),
        )
        for appraisee, cadre in zip(self.appraisees, self.cadres, strict=True):
            self.cast(cadre, "self", [{"appraisee_id": appraisee, "choice": "competent"}])
        for unit in self.units:
            self.cast(unit, "unit_rep", self.choices("excellent", *["competent"] * 3))
        for resident in self.residents[:6]:
            self.cast(
                resident,
                "resident_rep",
                self.choices("competent", "excellent", "competent", "incompetent"),
            )
        # Too many 优秀 (2 of 4 rows > 30%): recorded, but invalid.
        self.cast(
            self.residents[6],
            "resident_rep",
            self.choices("excellent", "excellent", "competent", "competent"),
        )
        self.cast(
            self.teller,
            "resident_rep",
            [
                *self.choices(*["competent"] * 4)[:3],
                {"appraisee_id": self.appraisees[3], "abstain": True},
            ],
            paper_serial=self.paper_serial,
        )

    def close_and_propose(self) -> dict[str, Any]:
        """Close the meeting's balloting and propose results; the proposal's result."""
        self.send(self.organizer, "balloting.close", meeting_id=self.meeting)
        return self.transport.result(self.send(self.organizer, "results.propose"))

    def lodge_dispute(self) -> str:
        """Cadre 3 disputes a resident ballot; returns the dispute id."""
        dispute = new_id()
        self.send(
            self.cadres[3],
            "dispute.lodge",
            dispute_id=dispute,
            appraisee_id=self.appraisees[3],
            grounds="居民代表票存在代填",
        )
        return dispute

    def first_valid(self, group: str) -> str:
        """The id of the group's first ballot that was counted valid."""
        return next(b for b, g in self.groups.items() if g == group and self.casts[b]["valid"])

    def uphold_dispute(self, dispute: str) -> Any:
        """The inspector upholds it and voids the first valid resident ballot."""
        ballot = self.first_valid("resident_rep")
        return self.send(
            self.inspector,
            "dispute.resolve",
            dispute_id=dispute,
            decision="upheld",
            reason="经核实该票为代填，予以作废",
            void_ballots=[ballot],
        )
