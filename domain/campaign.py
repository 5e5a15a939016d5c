"""The campaign aggregate: rules, roster, results and their approval, publication,
disputes and finalisation (DESIGN §1, §3.1, §5).

Ballots, meetings, reports and rectification plans are aggregates of their own
so that casting a ballot never touches (or replays) the campaign.
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain import duties, fields
from domain.aggregate import EventSourced
from domain.envelope import parse_timestamp
from domain.errors import Conflict, NotFound, RuleViolation, WrongRole, WrongState
from domain.rules import INTERVIEW, Rules, parse_rules
from domain.scoring import COMPLETE, as_approved

DRAFT = "draft"
PUBLISHED = "published"  # rules and roster frozen; debriefing and balloting under way
PROPOSED = "proposed"
APPROVED = "approved"
PUBLICIZED = "publicized"  # results shown during the 公示 window
REOPENED = "reopened"  # an upheld dispute voided ballots: a new proposal is needed
FINALIZED = "finalized"

APPRAISEE_FIELDS = ("appraisee_id", "name", "position", "unit", "category")


# --- what a campaign's events record, read from their signed commands ----------------------
# The command handlers and the audit (`domain.provenance`) both call these, so what is
# stored is by construction what the signed command says.


def parse_details(command: Mapping[str, Any]) -> dict[str, Any]:
    """The optional jurisdiction and period of `campaign.create` / `campaign.amend`."""
    details: dict[str, Any] = {}
    if "jurisdiction" in command:
        details["jurisdiction"] = fields.text(command, "jurisdiction")
    if "period" in command:
        period = fields.obj(command["period"], "period")
        details["period"] = {k: fields.calendar_date(period, k) for k in ("start", "end")}
    return details


def parse_rules_document(command: Mapping[str, Any]) -> dict[str, Any]:
    document = fields.obj(command.get("rules"), "rules")
    parse_rules(document)
    return dict(document)


def parse_amendment(command: Mapping[str, Any]) -> dict[str, Any]:
    """What `campaign.amend` changes: details, title, rules."""
    changes = parse_details(command)
    if "title" in command:
        changes["title"] = fields.text(command, "title")
    if "rules" in command:
        changes["rules"] = parse_rules_document(command)
    return changes


def parse_roster_entry(entry: Any, index: int) -> dict[str, Any]:
    """One appraisee of `campaign.add_appraisees`, as the roster keeps it: the person
    whose grade history it continues defaults to the linked actor, else the appraisee."""
    item = fields.obj(entry, f"appraisees[{index}]")
    fields.only(
        item, {"appraisee_id", "name", "position", "unit", "category"}, {"actor_id", "person_id"}
    )
    parsed = {"appraisee_id": str(fields.uuid_field(item, "appraisee_id"))}
    for name in ("name", "position", "unit", "category"):
        parsed[name] = fields.text(item, name)
    if "actor_id" in item:
        parsed["actor_id"] = str(fields.uuid_field(item, "actor_id"))
    parsed["person_id"] = (
        fields.text(item, "person_id")
        if "person_id" in item
        else parsed.get("actor_id", parsed["appraisee_id"])
    )
    return parsed


def parse_roster(command: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [parse_roster_entry(e, i) for i, e in enumerate(fields.items(command, "appraisees"))]


def _member(raw: Any, where: str) -> dict[str, str]:
    member = fields.obj(raw, where)
    fields.only(member, {"name"}, {"role", "actor_id"})
    return {k: fields.text(member, k) for k in ("name", "role", "actor_id") if k in member}


def parse_work_groups(command: Mapping[str, Any]) -> dict[str, Any]:
    """The leading group and per-unit work groups of `campaign.set_work_groups`."""
    leading = [_member(m, "leading_group") for m in fields.items(command, "leading_group")]
    groups = []
    for i, raw in enumerate(fields.items(command, "work_groups")):
        group = fields.obj(raw, f"work_groups[{i}]")
        fields.only(group, {"unit", "members"}, {"first_responsible", "liaison"})
        groups.append(
            {
                "unit": fields.text(group, "unit"),
                "members": [_member(m, "members") for m in fields.items(group, "members")],
                **{
                    k: fields.text(group, k) for k in ("first_responsible", "liaison") if k in group
                },
            }
        )
    return {"leading_group": leading, "work_groups": groups}


def parse_committee(command: Mapping[str, Any]) -> list[str]:
    """The members `campaign.name_committee` and `campaign.countersign_committee` name."""
    return [str(a) for a in fields.uuid_list(command, "actor_ids")]


def publication_window_end(command: Mapping[str, Any]) -> datetime:
    """When the 公示 window of `results.publish` ends: counted from the signed `issued_at`
    (within the replay window of the server's clock), so an auditor gets the same instant."""
    days = fields.integer(command, "window_days", low=0, high=60)
    return parse_timestamp(command["issued_at"]) + timedelta(days=days)


@dataclass(frozen=True)
class ApprovedResult:
    """One appraisee's result as approved: the proposal's computed result and the
    committee's adjustment of it, shown side by side (DESIGN §5)."""

    computed: Mapping[str, Any]  # the proposal's entry for the appraisee
    adjustment: Mapping[str, Any] | None  # {appraisee_id, grade, reason}
    approved: Mapping[str, Any]  # the entry with the adjustment applied (`as_approved`)

    @property
    def appraisee_id(self) -> str:
        return self.computed["appraisee_id"]

    @property
    def computed_grade(self) -> str | None:
        return self.computed["grade"]

    @property
    def grade(self) -> str | None:
        return self.approved["grade"]

    @property
    def consequences(self) -> list[dict[str, Any]]:
        """约谈, 限期整改, 组织处理 that the approved grade and the assessments entail."""
        return list(self.approved["consequences"])

    @property
    def adjustment_reason(self) -> str | None:
        return None if self.adjustment is None else self.adjustment["reason"]


class Campaign(EventSourced):
    @event("Created")
    def __init__(
        self,
        id: UUID,
        title: str,
        year: int,
        rules: dict[str, Any],
        details: dict[str, Any],
        organizer_id: str,
        envelope: dict[str, Any],
    ) -> None:
        self.title = title
        self.organizer_id = organizer_id  # who signed campaign.create: its organiser
        self.year = year
        self.rules_document = rules
        self.details = details
        self.status = DRAFT
        self.appraisees: dict[str, dict[str, Any]] = {}
        self.work_groups: dict[str, Any] = {}
        self.meetings: dict[str, str] = {}  # meeting id -> open | closed
        # Appraisee id -> the meetings that appraise them, in opening order: where the
        # one-vote rule looks, whatever the number of meetings. None on a campaign loaded
        # from a snapshot taken before it was kept (`upcast_v1_v2`).
        self.appraisee_meetings: dict[str, list[str]] | None = {}
        self.makeups: list[str] = []  # meetings opened while reopened (make-up meetings)
        self.assessments: dict[str, dict[str, str]] = {}
        self.proposal: dict[str, Any] | None = None
        self.approvals: dict[str, dict[str, Any]] = {}  # committee actor id -> approval
        self.committee: list[str] = []  # the named members, the only ones whose approval counts
        self.pending_committee: list[str] | None = None  # named after publication, unsigned
        self.inspectors: list[str] = []  # inspectors who acted on it (countersigned, resolved)
        self.approved: dict[str, Any] | None = None
        self.window_ends: str | None = None
        self.published_on: str | None = None  # the day results.publish was signed (ISO)
        self.disputes: dict[str, dict[str, Any]] = {}
        self.acknowledged: list[str] = []
        self.interviews: dict[str, dict[str, str]] = {}  # appraisee id -> {held_on, note}

    def __copy__(self) -> "Campaign":
        """A campaign whose dicts and lists are its own, one level down, so that a kept
        campaign can be handed out cheaply (`service.campaign_cache`): the methods that
        apply events replace a nested value rather than change it in place, so a copy and
        its original share nothing that either would change."""
        twin = object.__new__(type(self))
        twin.__dict__.update(
            {k: v.copy() if isinstance(v, dict | list) else v for k, v in vars(self).items()}
        )
        return twin

    # Snapshots record this: version 2 keeps `appraisee_meetings`.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot from before `appraisee_meetings` cannot tell it: the campaign it
        gives says so, and `AppraisalApplication.find` replays the stream instead."""
        state["appraisee_meetings"] = None

    @property
    def from_outdated_snapshot(self) -> bool:
        return self.appraisee_meetings is None

    @property
    def _appraisee_index(self) -> dict[str, list[str]]:
        """`appraisee_meetings`, which only a campaign from an old snapshot lacks, and
        `AppraisalApplication.at_version` replays those."""
        assert self.appraisee_meetings is not None, "replayed, never from an old snapshot"
        return self.appraisee_meetings

    @property
    def rules(self) -> Rules:
        return parse_rules(self.rules_document)

    def _require(self, *statuses: str, action: str) -> None:
        if self.status not in statuses:
            raise WrongState(
                f"cannot {action} while the campaign is {self.status}",
                campaign_status=self.status,
                allowed=list(statuses),
            )

    def appraisee(self, appraisee_id: str) -> dict[str, Any]:
        found = self.appraisees.get(appraisee_id)
        if found is None:
            raise NotFound(f"appraisee {appraisee_id} is not on this campaign's roster")
        return found

    def actors_of(self, appraisee_ids: Sequence[str]) -> dict[str, str]:
        """Linked actor id -> own appraisee id, for the appraisees of a meeting."""
        return {
            a["actor_id"]: a["appraisee_id"]
            for a in self.appraisees.values()
            if "actor_id" in a and a["appraisee_id"] in appraisee_ids
        }

    def require_own_appraisee(self, actor_id: str, appraisee_id: str, action: str) -> None:
        """A cadre acts and reads for their own appraisee only: the roster links an
        appraisee to its actor. Refuses `action` for anyone else's, and for an id off the
        roster too, so the refusal says nothing about who is on it."""
        if self.appraisees.get(appraisee_id, {}).get("actor_id") != actor_id:
            raise WrongRole(f"only the appraisee's own linked actor may {action}")

    # --- separation of duties (domain.duties) ------------------------------------------

    def duties(self) -> dict[str, frozenset[str]]:
        """Actor id -> the duties they hold in this campaign (tellers are the meetings')."""
        held: dict[str, set[str]] = {self.organizer_id: {duties.ORGANISER}}
        for member in [*self.committee, *(self.pending_committee or [])]:
            held.setdefault(member, set()).add(duties.COMMITTEE_MEMBER)
        for inspector in self.inspectors:
            held.setdefault(inspector, set()).add(duties.INSPECTOR)
        for appraisee in self.appraisees.values():
            if "actor_id" in appraisee:
                held.setdefault(appraisee["actor_id"], set()).add(duties.APPRAISEE)
        return {actor: frozenset(d) for actor, d in held.items()}

    def duty_table(self) -> dict[str, list[str]]:
        """`duties` as a meeting stores it: plain, sorted JSON."""
        return {actor: sorted(held) for actor, held in sorted(self.duties().items())}

    def require_free(self, actor_id: str, duty: str) -> None:
        duties.require_free(self.duties(), actor_id, duty)

    def name_committee(
        self, signer_id: str, actor_ids: list[str], envelope: dict[str, Any]
    ) -> None:
        """The organiser names committee members. Before publication they count at once;
        after it the addition waits for an inspector's countersignature, so the organiser
        alone cannot bring in members once the ballots are known to be coming."""
        if signer_id != self.organizer_id:
            raise WrongRole("only the campaign's organiser (who created it) names its committee")
        self._require(DRAFT, PUBLISHED, PROPOSED, REOPENED, action="name committee members")
        if not actor_ids:
            raise RuleViolation("name at least one committee member")
        for actor_id in actor_ids:
            if actor_id in self.committee:
                raise Conflict(f"actor {actor_id} is already on this campaign's committee")
            self.require_free(actor_id, duties.COMMITTEE_MEMBER)
        if self.status == DRAFT:
            self._name_committee(actor_ids, envelope)
            return
        if self.pending_committee is not None:
            raise Conflict(
                "an earlier committee addition awaits an inspector's countersignature",
                pending=self.pending_committee,
            )
        self._propose_committee_addition(actor_ids, envelope)

    @event("CommitteeNamed")
    def _name_committee(self, actor_ids: list[str], envelope: dict[str, Any]) -> None:
        self.committee += actor_ids

    @event("CommitteeAdditionProposed")
    def _propose_committee_addition(self, actor_ids: list[str], envelope: dict[str, Any]) -> None:
        self.pending_committee = actor_ids

    def countersign_committee(
        self, inspector_id: str, actor_ids: list[str], envelope: dict[str, Any]
    ) -> None:
        """An inspector countersigns the pending addition, naming exactly its members."""
        if self.pending_committee is None:
            raise WrongState("no committee addition awaits a countersignature")
        if actor_ids != self.pending_committee:
            raise Conflict(
                "actor_ids must be exactly the pending committee addition",
                pending=self.pending_committee,
            )
        self.require_free(inspector_id, duties.INSPECTOR)
        self._countersign_committee(inspector_id, actor_ids, envelope)

    @event("CommitteeCountersigned")
    def _countersign_committee(
        self, inspector_id: str, actor_ids: list[str], envelope: dict[str, Any]
    ) -> None:
        self.committee += actor_ids
        self.pending_committee = None
        if inspector_id not in self.inspectors:
            self.inspectors.append(inspector_id)

    # --- before publication -------------------------------------------------------------

    def amend(self, changes: dict[str, Any], envelope: dict[str, Any]) -> None:
        self._require(DRAFT, action="amend the campaign")
        self._amend(changes, envelope)

    @event("Amended")
    def _amend(self, changes: dict[str, Any], envelope: dict[str, Any]) -> None:
        if "title" in changes:
            self.title = changes["title"]
        if "rules" in changes:
            self.rules_document = changes["rules"]
        self.details.update({k: v for k, v in changes.items() if k not in ("title", "rules")})

    def add_appraisees(
        self, appraisees: Sequence[dict[str, Any]], envelope: dict[str, Any]
    ) -> None:
        self._require(DRAFT, action="change the roster")
        rules = self.rules
        seen = set(self.appraisees)
        for entry in appraisees:
            if entry["appraisee_id"] in seen:
                raise Conflict(f"appraisee {entry['appraisee_id']} is already on the roster")
            seen.add(entry["appraisee_id"])
            if "actor_id" in entry:
                self.require_free(entry["actor_id"], duties.APPRAISEE)
            if not rules.has_category(entry["category"]):
                raise RuleViolation(
                    f"appraisee {entry['appraisee_id']}: category {entry['category']!r} "
                    f"is not one of the rules' categories ({', '.join(rules.category_codes)})",
                    category=entry["category"],
                )
        self._add_appraisees(list(appraisees), envelope)

    @event("AppraiseesAdded")
    def _add_appraisees(self, appraisees: list[dict[str, Any]], envelope: dict[str, Any]) -> None:
        for entry in appraisees:
            self.appraisees[entry["appraisee_id"]] = entry

    def set_work_groups(self, work_groups: dict[str, Any], envelope: dict[str, Any]) -> None:
        self._require(DRAFT, PUBLISHED, action="set the work groups")
        self._set_work_groups(work_groups, envelope)

    @event("WorkGroupsSet")
    def _set_work_groups(self, work_groups: dict[str, Any], envelope: dict[str, Any]) -> None:
        self.work_groups = work_groups

    def publish(self, envelope: dict[str, Any]) -> None:
        self._require(DRAFT, action="publish the campaign")
        if not self.appraisees:
            raise RuleViolation("a campaign needs appraisees before it is published")
        self._publish(envelope)

    @event("Published")
    def _publish(self, envelope: dict[str, Any]) -> None:
        self.status = PUBLISHED

    # --- meetings and inputs --------------------------------------------------------------

    def meeting_appraisees(self, command: Mapping[str, Any]) -> list[str]:
        """Whom a `balloting.open` command appraises: its `appraisee_ids`, else the whole
        roster as it stands."""
        if "appraisee_ids" in command:
            return [str(a) for a in fields.uuid_list(command, "appraisee_ids")]
        return sorted(self.appraisees)

    def meetings_appraising(self, appraisee_ids: Iterable[str]) -> list[str]:
        """The meetings, in opening order, that appraise any of `appraisee_ids`."""
        found = {m for a in appraisee_ids for m in self._appraisee_index.get(a, ())}
        return [m for m in self.meetings if m in found]

    def check_can_open_meeting(self, meeting_id: str) -> None:
        if not self.opens_makeup:
            self._require(PUBLISHED, REOPENED, action="open balloting")
        if meeting_id in self.meetings:
            raise Conflict(f"meeting {meeting_id} was already opened")

    def open_meeting(self, meeting_id: str, envelope: dict[str, Any]) -> None:
        self.check_can_open_meeting(meeting_id)
        self._open_meeting(meeting_id, envelope)

    @event("MeetingOpened")
    def _open_meeting(self, meeting_id: str, envelope: dict[str, Any]) -> None:
        if self.opens_makeup:
            self.makeups.append(meeting_id)
            self.status = REOPENED
            self.proposal = None
            self.approvals = {}
        self.meetings[meeting_id] = "open"
        index = self._appraisee_index
        for appraisee_id in self.meeting_appraisees(envelope["command"]):
            index[appraisee_id] = [*index.get(appraisee_id, ()), meeting_id]

    @property
    def opens_makeup(self) -> bool:
        """Whether a meeting opened now is a make-up meeting: an upheld dispute reopened
        the campaign (and a proposal since, which the make-up withdraws, may not yet be
        approved), so balloting tops up what the voided ballots took away."""
        return self.status == REOPENED or (self.status == PROPOSED and bool(self.voided_ballots()))

    def voided_ballots(self) -> list[str]:
        """The ballots upheld disputes voided, in the order they were voided."""
        return [b for d in self.disputes.values() for b in d.get("voided", [])]

    def close_meeting(self, meeting_id: str, envelope: dict[str, Any]) -> None:
        if self.meetings.get(meeting_id) != "open":
            raise WrongState(f"meeting {meeting_id} is not open")
        self._close_meeting(meeting_id, envelope)

    @event("MeetingClosed")
    def _close_meeting(self, meeting_id: str, envelope: dict[str, Any]) -> None:
        self.meetings[meeting_id] = "closed"

    def record_assessment(
        self, appraisee_id: str, assessment: str, value: str, envelope: dict[str, Any]
    ) -> None:
        self._require(PUBLISHED, PROPOSED, REOPENED, action="record an assessment")
        self.appraisee(appraisee_id)
        declared = {a.code: a for a in self.rules.assessments}
        if assessment not in declared:
            raise RuleViolation(f"the rules declare no assessment {assessment!r}")
        if value not in {v.code for v in declared[assessment].values}:
            raise RuleViolation(f"{value!r} is not a value of assessment {assessment!r}")
        self._record_assessment(appraisee_id, assessment, value, envelope)

    @event("AssessmentRecorded")
    def _record_assessment(
        self, appraisee_id: str, assessment: str, value: str, envelope: dict[str, Any]
    ) -> None:
        recorded = self.assessments.get(appraisee_id, {})
        self.assessments[appraisee_id] = {**recorded, assessment: value}
        if self.status == PROPOSED:
            self.status = PUBLISHED
            self.proposal = None

    # --- results ------------------------------------------------------------------------------

    def check_can_propose(self) -> None:
        self._require(PUBLISHED, PROPOSED, REOPENED, action="propose results")
        if not self.meetings:
            raise WrongState("no balloting has taken place yet")
        still_open = sorted(m for m, state in self.meetings.items() if state == "open")
        if still_open:
            raise WrongState(f"meeting {still_open[0]} is still open: close balloting first")

    def propose(
        self,
        proposal_hash: str,
        results: list[dict[str, Any]],
        checkpoint: dict[str, Any],
        envelope: dict[str, Any],
    ) -> None:
        self.check_can_propose()
        self._propose(proposal_hash, results, checkpoint, envelope)

    @event("ResultsProposed")
    def _propose(
        self,
        proposal_hash: str,
        results: list[dict[str, Any]],
        checkpoint: dict[str, Any],
        envelope: dict[str, Any],
    ) -> None:
        self.status = PROPOSED
        self.proposal = {"hash": proposal_hash, "results": results, "checkpoint": checkpoint}
        self.approvals = {}

    def approve(
        self,
        actor_id: str,
        proposal_hash: str,
        adjustments: list[dict[str, Any]],
        checkpoint: dict[str, Any],
        envelope: dict[str, Any],
    ) -> None:
        self._require(PROPOSED, action="approve results")
        assert self.proposal is not None
        if proposal_hash != self.proposal["hash"]:
            raise Conflict(
                "proposal_hash is not the current proposal's: only the current proposal "
                "can be approved",
                current=self.proposal["hash"],
            )
        if actor_id not in self.committee:
            raise WrongRole(
                "only a committee member the campaign names may approve its results "
                "(campaign.name_committee)"
            )
        if actor_id in self.approvals:
            raise Conflict("this committee member has already signed the approval")
        self._check_adjustments(adjustments)
        for other in self.approvals.values():
            if other["adjustments"] != adjustments:
                raise Conflict("every approval signature must carry the same adjustments")
        needed = self.rules.min_signatures
        self._approve(
            actor_id,
            proposal_hash,
            adjustments,
            checkpoint,
            len(self.approvals) + 1 >= needed,
            envelope,
        )

    def _check_adjustments(self, adjustments: list[dict[str, Any]]) -> None:
        """An adjusted grade obeys the rules a computed one does (DESIGN §5): its category's
        grades, a written reason, the grade's ``min_score``, linked rules and, unless the
        rules declare it advisory, the grade's quota; and only a complete result is graded."""
        rules = self.rules
        assert self.proposal is not None
        proposed = {r["appraisee_id"]: r for r in self.proposal["results"]}
        seen = set()
        for item in adjustments:
            appraisee = self.appraisee(item["appraisee_id"])
            if item["appraisee_id"] in seen:
                raise RuleViolation(f"appraisee {item['appraisee_id']} is adjusted twice")
            seen.add(item["appraisee_id"])
            grade = rules.grade(appraisee["category"], item["grade"])
            if not str(item.get("reason", "")).strip():
                raise RuleViolation("an adjustment needs a written reason")
            result = proposed[item["appraisee_id"]]
            if result["status"] != COMPLETE:
                raise RuleViolation(
                    f"{item['appraisee_id']} has no result ({result['status']}): "
                    "no adjustment can grade it",
                    appraisee_id=item["appraisee_id"],
                )
            if grade.min_score is not None and Fraction(result["score_exact"]) < grade.min_score:
                raise RuleViolation(
                    f"{item['appraisee_id']} scores {result['score']}, below the "
                    f"{grade.min_score} that {grade.code} requires",
                    appraisee_id=item["appraisee_id"],
                    min_score=str(grade.min_score),
                )
            self._check_linked_caps(rules, appraisee, item["grade"])
        self._check_quotas(rules, proposed, adjustments)

    @staticmethod
    def _check_quotas(
        rules: Rules, proposed: Mapping[str, Mapping[str, Any]], adjustments: list[dict[str, Any]]
    ) -> None:
        """Hard quotas hold for the grades as approved: floor(max_share × N) per category."""
        grades = {aid: r["grade"] for aid, r in proposed.items()}
        grades.update({a["appraisee_id"]: a["grade"] for a in adjustments})
        for category in sorted({r["category"] for r in proposed.values()}):
            members = [aid for aid, r in proposed.items() if r["category"] == category]
            for grade in rules.grades_for(category):
                quota = grade.quota(len(members))
                held = sum(1 for aid in members if grades[aid] == grade.code)
                if quota is not None and not grade.advisory and held > quota:
                    raise RuleViolation(
                        f"{held} of the {len(members)} in category {category} would be "
                        f"{grade.code}: its quota floor({grade.max_share} × {len(members)}) "
                        f"allows {quota}",
                        quota=f"{category}/{grade.code}",
                        allowed=quota,
                        held=held,
                    )

    def _check_linked_caps(self, rules: Rules, appraisee: dict[str, Any], grade: str) -> None:
        """A committee may not adjust past a linked rule (e.g. 党建述职 not 好 → no 优秀)."""
        order = [g.code for g in rules.grades_for(appraisee["category"])]
        values = self.assessments.get(appraisee["appraisee_id"], {})
        for rule in rules.linked_rules:
            if not rule.applies(appraisee["category"], values):
                continue
            if order.index(grade) < order.index(rule.cap_grade):
                raise RuleViolation(
                    f"{appraisee['appraisee_id']} cannot be graded {grade}: {rule.reason}",
                    linked_rule=rule.code,
                )

    @event("ApprovalSigned")
    def _approve(
        self,
        actor_id: str,
        proposal_hash: str,
        adjustments: list[dict[str, Any]],
        checkpoint: dict[str, Any],
        complete: bool,
        envelope: dict[str, Any],
    ) -> None:
        self.approvals[actor_id] = {"adjustments": adjustments, "checkpoint": checkpoint}
        if complete:
            self.status = APPROVED
            self.approved = {
                "proposal_hash": proposal_hash,
                "adjustments": adjustments,
                "signers": sorted(self.approvals),
            }

    def publish_results(self, window_ends: datetime, envelope: dict[str, Any]) -> None:
        self._require(APPROVED, action="publish results")
        self._publish_results(window_ends.isoformat(), envelope)

    @event("ResultsPublished")
    def _publish_results(self, window_ends: str, envelope: dict[str, Any]) -> None:
        self.status = PUBLICIZED
        self.window_ends = window_ends
        self.published_on = parse_timestamp(envelope["command"]["issued_at"]).date().isoformat()

    # --- disputes, finalisation, feedback ---------------------------------------------------

    def lodge_dispute(
        self,
        dispute_id: str,
        appraisee_id: str,
        grounds: str,
        lodged_by: str,
        envelope: dict[str, Any],
    ) -> None:
        self._require(PROPOSED, APPROVED, PUBLICIZED, action="lodge a dispute")
        self.appraisee(appraisee_id)
        if dispute_id in self.disputes:
            raise Conflict(f"dispute {dispute_id} already exists")
        self._lodge_dispute(dispute_id, appraisee_id, grounds, lodged_by, envelope)

    @event("DisputeLodged")
    def _lodge_dispute(
        self,
        dispute_id: str,
        appraisee_id: str,
        grounds: str,
        lodged_by: str,
        envelope: dict[str, Any],
    ) -> None:
        self.disputes[dispute_id] = {
            "appraisee_id": appraisee_id,
            "grounds": grounds,
            "lodged_by": lodged_by,
            "status": "open",
        }

    def resolve_dispute(
        self,
        inspector_id: str,
        dispute_id: str,
        decision: str,
        reason: str,
        voided: Mapping[str, Collection[str]],
        envelope: dict[str, Any],
    ) -> None:
        """`voided` maps each ballot to void to the appraisees its rows rate: a dispute
        is about one appraisee, so an inspector may void only ballots that rate them."""
        dispute = self.disputes.get(dispute_id)
        if dispute is None:
            raise NotFound(f"no dispute {dispute_id} in this campaign")
        if dispute["status"] != "open":
            raise WrongState(f"dispute {dispute_id} is already {dispute['status']}")
        self.require_free(inspector_id, duties.INSPECTOR)
        if decision == "dismissed" and voided:
            raise RuleViolation("a dismissed dispute voids no ballots")
        for ballot_id, rated in voided.items():
            if dispute["appraisee_id"] not in rated:
                raise RuleViolation(
                    f"ballot {ballot_id} does not rate appraisee {dispute['appraisee_id']}, "
                    "whom the dispute is about: voiding it is outside the dispute's scope",
                    ballot_id=ballot_id,
                    appraisee_id=dispute["appraisee_id"],
                )
        self._resolve_dispute(inspector_id, dispute_id, decision, reason, list(voided), envelope)

    @event("DisputeResolved")
    def _resolve_dispute(
        self,
        inspector_id: str,
        dispute_id: str,
        decision: str,
        reason: str,
        voided: list[str],
        envelope: dict[str, Any],
    ) -> None:
        self.disputes[dispute_id] = {
            **self.disputes[dispute_id],
            "status": decision,
            "reason": reason,
            "voided": voided,
        }
        if inspector_id not in self.inspectors:
            self.inspectors.append(inspector_id)
        if decision == "upheld":
            self.status = REOPENED
            self.proposal = None
            self.approvals = {}
            self.approved = None
            self.window_ends = self.published_on = None

    def open_disputes(self) -> list[str]:
        return sorted(d for d, v in self.disputes.items() if v["status"] == "open")

    def finalize(self, now: datetime, envelope: dict[str, Any]) -> None:
        self._require(PUBLICIZED, action="finalize")
        if self.open_disputes():
            raise WrongState(f"dispute {self.open_disputes()[0]} is still open")
        assert self.window_ends is not None
        if now < datetime.fromisoformat(self.window_ends):
            raise WrongState(f"the publication window runs until {self.window_ends}")
        self._finalize(envelope)

    @event("Finalized")
    def _finalize(self, envelope: dict[str, Any]) -> None:
        self.status = FINALIZED

    def results_as_approved(self) -> list[ApprovedResult]:
        """The current proposal's results, each with the committee's adjustment when the
        approval is of this very proposal (its hash); none without a current proposal."""
        if self.proposal is None:
            return []
        approval = self._approval_of_current_proposal()
        adjustments = {a["appraisee_id"]: a for a in (approval or {}).get("adjustments", [])}
        rules = self.rules
        published = None if self.published_on is None else date.fromisoformat(self.published_on)
        results = []
        for result in self.proposal["results"]:
            aid = result["appraisee_id"]
            adjustment = adjustments.get(aid)
            approved = as_approved(
                rules, result, adjustment, self.assessments.get(aid, {}), published
            )
            results.append(ApprovedResult(result, adjustment, approved))
        return results

    def final_grades(self) -> dict[str, str | None]:
        """Grades as approved, per appraisee; none until the current proposal is approved."""
        if self._approval_of_current_proposal() is None:
            return {}
        return {r.appraisee_id: r.grade for r in self.results_as_approved()}

    def _approval_of_current_proposal(self) -> dict[str, Any] | None:
        if self.proposal is None or self.approved is None:
            return None
        return self.approved if self.approved["proposal_hash"] == self.proposal["hash"] else None

    def record_interview(
        self, appraisee_id: str, held_on: str, note: str, envelope: dict[str, Any]
    ) -> None:
        """An interview (约谈) the published results entail is recorded as held, once."""
        self._require(PUBLICIZED, FINALIZED, action="record an interview")
        self.appraisee(appraisee_id)
        entailed = [
            c["kind"]
            for r in self.results_as_approved()
            if r.appraisee_id == appraisee_id
            for c in r.consequences
        ]
        if INTERVIEW not in entailed:
            raise RuleViolation(
                f"the approved results entail no interview (约谈) for {appraisee_id}",
                appraisee_id=appraisee_id,
            )
        if appraisee_id in self.interviews:
            raise Conflict(f"the interview of {appraisee_id} is already recorded")
        self._record_interview(appraisee_id, held_on, note, envelope)

    @event("InterviewRecorded")
    def _record_interview(
        self, appraisee_id: str, held_on: str, note: str, envelope: dict[str, Any]
    ) -> None:
        self.interviews[appraisee_id] = {"held_on": held_on, "note": note}

    def acknowledge(self, appraisee_id: str, envelope: dict[str, Any]) -> None:
        self._require(PUBLICIZED, FINALIZED, action="acknowledge feedback")
        self.appraisee(appraisee_id)
        if appraisee_id in self.acknowledged:
            raise Conflict("feedback was already acknowledged")
        self._acknowledge(appraisee_id, envelope)

    @event("FeedbackAcknowledged")
    def _acknowledge(self, appraisee_id: str, envelope: dict[str, Any]) -> None:
        self.acknowledged.append(appraisee_id)


def compact_results(results: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What a proposal event keeps per appraisee of an outcome's results
    (`Outcome.result_dicts`): each one's `compact_result`."""
    return [compact_result(result) for result in results]


def compact_result(result: Mapping[str, Any]) -> dict[str, Any]:
    """One appraisee's full explanation minus the row lists, which are re-derived from
    the ballots (and covered by the proposal hash)."""
    return {
        **{k: v for k, v in result.items() if k != "groups"},
        "groups": {
            code: {k: v for k, v in group.items() if not k.startswith("rows_")}
            for code, group in result["groups"].items()
        },
    }
