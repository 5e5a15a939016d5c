"""Read-model queries: the read side's public API for the HTTP layer.

Conventions shared by every function here:

* The first argument is the read side the composition root built (`ReadSide`).
* `min_position` is a ledger index as returned by a command (`position`): the
  query first waits until the views include that event, for at most `timeout`
  seconds (default 2), and raises :class:`ProjectionBehind` (code
  "projection-behind", meant as HTTP 503) rather than answer from older data.
* Unknown ids raise `domain.errors.NotFound`; bad paging raises `MalformedCommand`.
* Lists are ordered deterministically and paged with `limit`/`offset`; they
  return `{"items": [...], "total": n, "limit": limit, "offset": offset}`
  (`limit=None` means no limit).
* `roles` are the caller's roles where they change what is shown. Inspectors and
  auditors (PRIVILEGED) see everything; everyone else never sees who signed a
  ballot and does not see a group's breakdown for an appraisee when the group
  has fewer ballots than its anonymity floor (`"hidden": true` instead).
* Positions in answers (`*_position`, `ledger_index`) are ledger indexes: with
  an inclusion proof against a signed checkpoint they prove the fact shown.
"""

import base64
import json
from collections.abc import Collection, Iterable, Sequence
from datetime import date
from typing import Any

from domain.campaign import APPROVED, FINALIZED, PUBLICIZED
from domain.errors import MalformedCommand, NotFound
from domain.rectification import rectify_tracking
from domain.rules import INTERVIEW, RECTIFY
from projections.access import (
    DEFAULT_WAIT_SECONDS,
    PRIVILEGED,
    campaign_row,
    disclosure,
    floors,
    privileged,
    ready,
    uuid_text,
)
from projections.explain import explanation
from projections.read_side import ReadSide
from projections.store import ProjectionBehind, ViewStore

__all__ = [
    "DEFAULT_WAIT_SECONDS",
    "PRIVILEGED",
    "ProjectionBehind",
    "actors",
    "ballot_by_receipt",
    "ballots",
    "campaign",
    "campaigns",
    "checkpoints",
    "consequences",
    "disputes",
    "explanation",
    "latest_checkpoint",
    "projection_lag",
    "reconciliation",
    "rectifications",
    "reports",
    "results",
]

DEFAULT_LIMIT = 100
NO_LIMIT = 2**62
COUNTS = (
    "issued",
    "slips_voided",
    "handed_out",
    "unused",
    "entries_voided",
    "cast",
    "valid",
    "invalid",
    "voided",
    "counted",
    "abstentions",
)


def _window(limit: int | None, offset: int) -> tuple[int, int]:
    if (limit is not None and limit < 0) or offset < 0:
        raise MalformedCommand("limit and offset must be 0 or more")
    return (NO_LIMIT if limit is None else limit), offset


def _where(
    conditions: Iterable[tuple[str, Sequence[Any]]] = (), **filters: Any
) -> tuple[str, list[Any]]:
    """`WHERE …` from (condition, parameters) pairs and `column = ?` filters (None: no filter)."""
    used = {column: value for column, value in filters.items() if value is not None}
    conditions = [*conditions, *((f"{column} = ?", [value]) for column, value in used.items())]
    clause = " AND ".join(condition for condition, _ in conditions)
    return ("WHERE " + clause if clause else ""), [p for _, params in conditions for p in params]


def _page(
    views: ViewStore,
    source: str,
    where: tuple[str, list[Any]],
    order: str,
    limit: int | None,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of `SELECT * FROM source WHERE … ORDER BY order` and the total, read
    in one transaction so that they agree."""
    clause, params = where
    with views.reading() as tx:
        counted = tx.one(f"SELECT COUNT(*) AS n FROM {source} {clause}", *params)
        rows = tx.all(
            f"SELECT * FROM {source} {clause} ORDER BY {order} LIMIT ? OFFSET ?",
            *params,
            *_window(limit, offset),
        )
    return rows, counted["n"] if counted else 0


def _listing(items: list[Any], total: int, limit: int | None, offset: int) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": limit, "offset": offset}


# --- campaigns and results ------------------------------------------------------------


def _campaign_json(row: dict[str, Any], meetings: dict[str, str]) -> dict[str, Any]:
    return {
        "campaign_id": row["campaign_id"],
        "title": row["title"],
        "year": row["year"],
        "status": row["status"],
        "details": json.loads(row["details"]),
        "appraisees": row["appraisees"],
        "meetings": meetings,
        "groups": json.loads(row["group_rules"]),
        "proposal_hash": row["proposal_hash"],
        "proposal_position": row["proposal_position"],
        "approval_position": row["approval_position"],
        "window_ends": row["window_ends"],
        "published_on": row["published_on"],
        "created_position": row["created_position"],
        "updated_position": row["updated_position"],
    }


def campaigns(
    read: ReadSide,
    *,
    status: str | None = None,
    year: int | None = None,
    limit: int | None = DEFAULT_LIMIT,
    offset: int = 0,
    min_position: int | None = None,
    timeout: float = DEFAULT_WAIT_SECONDS,
) -> dict[str, Any]:
    """Campaigns and their status in creation order: `{campaign_id, title, year,
    status, details, appraisees, meetings, groups, proposal_hash, …_position}`."""
    views = ready(read, min_position, timeout)
    where = _where(status=status, year=year)
    rows, total = _page(views, "{campaigns}", where, "created_position", limit, offset)
    meetings = _meetings_of(views, [r["campaign_id"] for r in rows])
    items = [_campaign_json(r, meetings[r["campaign_id"]]) for r in rows]
    return _listing(items, total, limit, offset)


def _meetings_of(views: ViewStore, campaign_ids: list[str]) -> dict[str, dict[str, str]]:
    """Each campaign's meetings and their status (open, closed), in the order they opened.

    Why from the meetings view and not a list in the campaign's row: rewriting that list
    at each of a campaign's meeting events made a catch-up quadratic in its meetings.
    """
    found: dict[str, dict[str, str]] = {campaign_id: {} for campaign_id in campaign_ids}
    if campaign_ids:
        with views.reading() as tx:
            rows = tx.all(
                "SELECT campaign_id, meeting_id, status FROM {meetings} "
                f"WHERE campaign_id IN ({_in(len(campaign_ids))}) ORDER BY opened_position",
                *campaign_ids,
            )
        for row in rows:
            found[row["campaign_id"]][row["meeting_id"]] = row["status"]
    return found


def campaign(
    read: ReadSide,
    campaign_id: str,
    *,
    min_position: int | None = None,
    timeout: float = DEFAULT_WAIT_SECONDS,
) -> dict[str, Any]:
    """One campaign, as in `campaigns`."""
    views = ready(read, min_position, timeout)
    row = campaign_row(views, campaign_id)
    return _campaign_json(row, _meetings_of(views, [row["campaign_id"]])[row["campaign_id"]])


def labels_of(views: ViewStore, campaign_id: str) -> dict[str, dict[str, str]]:
    """The campaign rules' labels by kind (categories, grades, groups, choices) and code."""
    with views.reading() as tx:
        rows = tx.all("SELECT kind, code, label FROM {labels} WHERE campaign_id = ?", campaign_id)
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        found.setdefault(row["kind"], {})[row["code"]] = row["label"]
    return found


def _roster_of(views: ViewStore, campaign_id: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    with views.reading() as tx:
        rows = tx.all(
            f"SELECT * FROM {{roster}} WHERE campaign_id = ? AND appraisee_id IN ({_in(len(ids))})",
            campaign_id,
            *ids,
        )
    return {row["appraisee_id"]: row for row in rows}


def _who(entry: dict[str, Any] | None, labels: dict[str, dict[str, str]]) -> dict[str, Any]:
    """An appraisee's name, position, unit and category label, beside its id."""
    if entry is None:
        return {"name": None, "position": None, "unit": None, "category_label": None}
    return {
        "name": entry["name"],
        "position": entry["position"],
        "unit": entry["unit"],
        "category_label": labels.get("categories", {}).get(entry["category"]),
    }


def appraisees(
    read: ReadSide,
    campaign_id: str,
    *,
    limit: int | None = DEFAULT_LIMIT,
    offset: int = 0,
    min_position: int | None = None,
    timeout: float = DEFAULT_WAIT_SECONDS,
) -> dict[str, Any]:
    """The campaign's roster in the order it was drawn up: `{appraisee_id, name, position,
    unit, category, category_label}`; two people of one name differ by position or unit."""
    views = ready(read, min_position, timeout)
    row = campaign_row(views, campaign_id)
    where = _where(campaign_id=row["campaign_id"])
    rows, total = _page(views, "{roster}", where, "seq", limit, offset)
    labels = labels_of(views, row["campaign_id"])
    items = [
        {"appraisee_id": r["appraisee_id"], "category": r["category"], **_who(r, labels)}
        for r in rows
    ]
    return _listing(items, total, limit, offset)


def results(
    read: ReadSide,
    campaign_id: str,
    *,
    roles: Collection[str],
    limit: int | None = None,
    offset: int = 0,
    min_position: int | None = None,
    timeout: float = DEFAULT_WAIT_SECONDS,
) -> dict[str, Any]:
    """Per-appraisee results in DESIGN §3.1 shape, as of the current proposal or approval.

    Returns `{"campaign_id", "status", "results": [{"appraisee_id", "category",
    "status", "score", "score_exact", "rank", "grade", "flags", "groups": {code:
    {"ballots", "score", "score_exact"} | {"hidden": true}}}], "proposal_hash",
    "page": {"total", "limit", "offset"}}`. A result the committee adjusted also
    carries `"computed_grade"` and `"adjustment": {"grade", "reason"}`, and its
    `grade` is the adjusted one. Without a current proposal (none yet, or one an
    upheld dispute or a new assessment withdrew) `results` is empty.
    """
    views = ready(read, min_position, timeout)
    row = campaign_row(views, campaign_id)
    where = _where(campaign_id=row["campaign_id"])
    rows, total = _page(views, "{results}", where, "seq", limit, offset)
    group_floors = floors(row)
    labels = labels_of(views, row["campaign_id"])
    roster = _roster_of(views, row["campaign_id"], [r["appraisee_id"] for r in rows])
    return {
        "campaign_id": row["campaign_id"],
        "status": row["status"],
        "results": [
            result_json(r, group_floors, roles, labels, roster.get(r["appraisee_id"])) for r in rows
        ],
        "proposal_hash": row["proposal_hash"],
        "page": {"total": total, "limit": limit, "offset": offset},
    }


def result_json(
    row: dict[str, Any],
    group_floors: dict[str, int],
    roles: Collection[str],
    labels: dict[str, dict[str, str]],
    who: dict[str, Any] | None,
) -> dict[str, Any]:
    """One `results` view row as `roles` may see it (`access.disclosure`)."""
    scores = json.loads(row["group_scores"])
    shown = disclosure(scores, group_floors, roles)
    groups = {
        code: (
            {k: group[k] for k in ("ballots", "score", "score_exact")}
            if code in shown.groups
            else {"hidden": True}
        )
        for code, group in sorted(scores.items())
    }
    result = {
        "appraisee_id": row["appraisee_id"],
        "category": row["category"],
        "status": row["status"],
        "score": row["score"] if shown.rounded_total else None,
        "score_exact": row["score_exact"] if shown.exact_total else None,
        "rank": row["rank"],
        "grade": row["grade"],
        "grade_label": labels.get("grades", {}).get(row["grade"] or ""),
        "flags": json.loads(row["flags"]),
        "consequences": json.loads(row["consequences"]),
        "groups": groups,
        **_who(who, labels),
    }
    if row["adjustment_grade"] is not None:
        result["computed_grade"] = row["computed_grade"]
        result["adjustment"] = {
            "grade": row["adjustment_grade"],
            "reason": row["adjustment_reason"],
        }
    return result


# --- ballots and reconciliation ---------------------------------------------------------

BALLOT_STATUS = {
    "valid": "voided_reason IS NULL AND valid = 1",
    "invalid": "voided_reason IS NULL AND valid = 0",
    "voided": "voided_reason IS NOT NULL",
}


def _ballot_json(row: dict[str, Any], roles: Collection[str]) -> dict[str, Any]:
    voided = row["voided_reason"] is not None
    ballot = {
        "ballot_id": row["ballot_id"],
        "campaign_id": row["campaign_id"],
        "meeting_id": row["meeting_id"],
        "group": row["group_code"],
        "ledger_index": row["ledger_index"],
        "leaf_hash": row["leaf_hash"],
        "status": "voided" if voided else ("valid" if row["valid"] else "invalid"),
        "reason": row["voided_reason"] if voided else row["invalid_reason"],
        "voided": (
            {"dispute_id": row["voided_dispute"], "ledger_index": row["voided_position"]}
            if voided
            else None
        ),
    }
    if row["signer"] is not None and privileged(roles):
        ballot["signer"] = row["signer"]
    return ballot


def ballots(
    read: ReadSide,
    campaign_id: str,
    *,
    roles: Collection[str],
    meeting_id: str | None = None,
    group: str | None = None,
    status: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
    offset: int = 0,
    min_position: int | None = None,
    timeout: float = DEFAULT_WAIT_SECONDS,
) -> dict[str, Any]:
    """A campaign's ballots in ledger order: `{ballot_id, campaign_id, meeting_id,
    group, ledger_index, leaf_hash, status (valid|invalid|voided), reason, voided,
    paper_serial}`, `entered_by` `{actor_id, name}` (the teller) for a paper entry, plus
    `signer` (key id), `signer_actor_id` and `signer_name` for named groups, to inspectors
    and auditors only; the signer of an anonymous group's ballot is never stored."""
    if status is not None and status not in BALLOT_STATUS:
        raise MalformedCommand("status must be valid, invalid or voided")
    views = ready(read, min_position, timeout)
    where = _where(
        [(BALLOT_STATUS[status], [])] if status else [],
        campaign_id=uuid_text(campaign_id, "campaign"),
        meeting_id=None if meeting_id is None else uuid_text(meeting_id, "meeting"),
        group_code=group,
    )
    rows, total = _page(views, "{ballots}", where, "ledger_index", limit, offset)
    holders = _key_holders(views, {k for r in rows for k in (r["signer"], r["teller"]) if k})
    items = []
    for row in rows:
        ballot = _ballot_json(row, roles)
        ballot["paper_serial"] = row["paper_serial"]
        if row["teller"] is not None:
            ballot["entered_by"] = holders.get(row["teller"])
        if "signer" in ballot:
            holder = holders.get(ballot["signer"]) or {}
            ballot["signer_actor_id"] = holder.get("actor_id")
            ballot["signer_name"] = holder.get("name")
        items.append(ballot)
    return _listing(items, total, limit, offset)


def _key_holders(views: ViewStore, key_ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """Key id -> `{actor_id, name}` of the actor the key was added for (revoked keys
    included: a ballot keeps the signer it was cast by)."""
    if not key_ids:
        return {}
    with views.reading() as tx:
        rows = tx.all(
            "SELECT k.key_id, a.actor_id, a.name FROM {keys} k "
            "JOIN {actors} a ON a.actor_id = k.actor_id "
            f"WHERE k.key_id IN ({_in(len(key_ids))})",
            *key_ids,
        )
    return {r["key_id"]: {"actor_id": r["actor_id"], "name": r["name"]} for r in rows}


def ballot_by_receipt(
    read: ReadSide,
    ballot_id: str,
    *,
    roles: Collection[str],
    min_position: int | None = None,
    timeout: float = DEFAULT_WAIT_SECONDS,
) -> dict[str, Any]:
    """A ballot by the id on its receipt, as in `ballots`: where it sits in the
    ledger (to check an inclusion proof against a checkpoint) and whether it counted."""
    views = ready(read, min_position, timeout)
    ballot_id = uuid_text(ballot_id, "ballot")
    with views.reading() as tx:
        row = tx.one("SELECT * FROM {ballots} WHERE ballot_id = ?", ballot_id)
    if row is None:
        raise NotFound(f"no ballot {ballot_id}")
    return _ballot_json(row, roles)


def _in(count: int) -> str:
    return ", ".join("?" * count)


def reconciliation(
    read: ReadSide,
    campaign_id: str,
    *,
    meeting_id: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
    offset: int = 0,
    min_position: int | None = None,
    timeout: float = DEFAULT_WAIT_SECONDS,
) -> dict[str, Any]:
    """Meetings in the order opened, each with per-group counts — issued, cast,
    unused, valid, invalid, voided, counted, abstentions, invalid_reasons — kept
    live from the ballots (ballots voided after closing included). A closed meeting
    also shows `recorded`: the figures its Closed event carries, with the
    `checkpoint` it rests on and its `closed_position`."""
    views = ready(read, min_position, timeout)
    where = _where(
        campaign_id=uuid_text(campaign_id, "campaign"),
        meeting_id=None if meeting_id is None else uuid_text(meeting_id, "meeting"),
    )
    meetings, total = _page(views, "{meetings}", where, "opened_position", limit, offset)
    counts: dict[str, dict[str, Any]] = {m["meeting_id"]: {} for m in meetings}
    if meetings:
        with views.reading() as tx:
            rows = tx.all(
                f"SELECT * FROM {{reconciliation}} WHERE meeting_id IN ({_in(len(meetings))}) "
                "ORDER BY meeting_id, group_code",
                *counts,
            )
        for row in rows:
            counts[row["meeting_id"]][row["group_code"]] = {
                **{name: row[f"n_{name}"] for name in COUNTS},
                "invalid_reasons": json.loads(row["invalid_reasons"]),
            }
    items = [
        {
            "meeting_id": m["meeting_id"],
            "status": m["status"],
            "opened_position": m["opened_position"],
            "closed_position": m["closed_position"],
            "checkpoint": _json_or_none(m["checkpoint"]),
            "groups": counts[m["meeting_id"]],
            "recorded": _json_or_none(m["recorded"]),
        }
        for m in meetings
    ]
    return _listing(items, total, limit, offset)


def _json_or_none(text: str | None) -> Any:
    return None if text is None else json.loads(text)


# --- reports, disputes, rectification ----------------------------------------------------


def reports(
    read: ReadSide,
    campaign_id: str,
    *,
    appraisee_id: str | None = None,
    status: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
    offset: int = 0,
    min_position: int | None = None,
    timeout: float = DEFAULT_WAIT_SECONDS,
) -> dict[str, Any]:
    """Debriefing reports in submission order: `{report_id, campaign_id,
    appraisee_id, status (submitted|returned|accepted), parts, comments,
    submitted_position, updated_position}`."""
    views = ready(read, min_position, timeout)
    where = _where(
        campaign_id=uuid_text(campaign_id, "campaign"), appraisee_id=appraisee_id, status=status
    )
    rows, total = _page(views, "{reports}", where, "submitted_position", limit, offset)
    items = [
        {
            "report_id": r["report_id"],
            "campaign_id": r["campaign_id"],
            "appraisee_id": r["appraisee_id"],
            "status": r["status"],
            "parts": json.loads(r["parts"]),
            "comments": json.loads(r["comments"]),
            "submitted_position": r["submitted_position"],
            "updated_position": r["updated_position"],
        }
        for r in rows
    ]
    return _listing(items, total, limit, offset)


def disputes(
    read: ReadSide,
    campaign_id: str,
    *,
    roles: Collection[str],
    status: str | None = None,
    appraisee_id: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
    offset: int = 0,
    min_position: int | None = None,
    timeout: float = DEFAULT_WAIT_SECONDS,
) -> dict[str, Any]:
    """Disputes in the order lodged: `{dispute_id, campaign_id, appraisee_id,
    grounds, status (open|upheld|dismissed), reason, voided_ballots,
    lodged_position, resolved_position}`, plus `lodged_by` (actor id) to
    inspectors and auditors only."""
    views = ready(read, min_position, timeout)
    where = _where(
        campaign_id=uuid_text(campaign_id, "campaign"), status=status, appraisee_id=appraisee_id
    )
    rows, total = _page(views, "{disputes}", where, "lodged_position", limit, offset)
    items = []
    for r in rows:
        item = {
            "dispute_id": r["dispute_id"],
            "campaign_id": r["campaign_id"],
            "appraisee_id": r["appraisee_id"],
            "grounds": r["grounds"],
            "status": r["status"],
            "reason": r["reason"],
            "voided_ballots": json.loads(r["voided"]),
            "lodged_position": r["lodged_position"],
            "resolved_position": r["resolved_position"],
        }
        if privileged(roles):
            item["lodged_by"] = r["lodged_by"]
        items.append(item)
    return _listing(items, total, limit, offset)


# domain.rectification.RectificationPlan.overdue, as SQL over plan items (i)
OVERDUE = "i.status <> 'verified' AND i.deadline < ?"


def rectifications(
    read: ReadSide,
    *,
    today: date,
    campaign_id: str | None = None,
    appraisee_id: str | None = None,
    overdue_only: bool = False,
    limit: int | None = DEFAULT_LIMIT,
    offset: int = 0,
    min_position: int | None = None,
    timeout: float = DEFAULT_WAIT_SECONDS,
) -> dict[str, Any]:
    """Rectification plans in creation order with their items. An item is overdue
    when `today` is past its deadline and it has not passed a follow-up check.
    Plans: `{plan_id, campaign_id, appraisee_id, closed, items: [{item_id,
    description, deadline, status, progress, checks, overdue}], overdue: [item
    ids], …_position}`; the answer adds `today` and `overdue_items`, the number of
    overdue items over every matching plan."""
    views = ready(read, min_position, timeout)
    day = today.isoformat()
    overdue_plan = (
        f"EXISTS (SELECT 1 FROM {{plan_items}} i WHERE i.plan_id = p.plan_id AND {OVERDUE})"
    )
    where = _where(
        [(overdue_plan, [day])] if overdue_only else [],
        campaign_id=None if campaign_id is None else uuid_text(campaign_id, "campaign"),
        appraisee_id=appraisee_id,
    )
    clause, params = where
    plans, total = _page(views, "{plans} p", where, "created_position", limit, offset)
    with views.reading() as tx:
        overdue_items = tx.one(
            f"SELECT COUNT(*) AS n FROM {{plan_items}} i JOIN {{plans}} p ON p.plan_id = i.plan_id "
            f"{clause or 'WHERE 1 = 1'} AND {OVERDUE}",
            *params,
            day,
        )
        items = (
            tx.all(
                f"SELECT i.*, CASE WHEN {OVERDUE} THEN 1 ELSE 0 END AS overdue "
                f"FROM {{plan_items}} i WHERE i.plan_id IN ({_in(len(plans))}) "
                "ORDER BY i.plan_id, i.seq",
                day,
                *(p["plan_id"] for p in plans),
            )
            if plans
            else []
        )
    by_plan: dict[str, list[dict[str, Any]]] = {p["plan_id"]: [] for p in plans}
    for item in items:
        by_plan[item["plan_id"]].append(
            {
                "item_id": item["item_id"],
                "description": item["description"],
                "measures": item["measures"],
                "responsible": item["responsible"],
                "deadline": item["deadline"],
                "status": item["status"],
                "progress": json.loads(item["progress"]),
                "checks": json.loads(item["checks"]),
                "overdue": bool(item["overdue"]),
            }
        )
    plan_items = [
        {
            "plan_id": p["plan_id"],
            "campaign_id": p["campaign_id"],
            "appraisee_id": p["appraisee_id"],
            "closed": bool(p["closed"]),
            "created_position": p["created_position"],
            "updated_position": p["updated_position"],
            "items": by_plan[p["plan_id"]],
            "overdue": [i["item_id"] for i in by_plan[p["plan_id"]] if i["overdue"]],
        }
        for p in plans
    ]
    return {
        **_listing(plan_items, total, limit, offset),
        "today": day,
        "overdue_items": overdue_items["n"] if overdue_items else 0,
    }


DECIDED = (APPROVED, PUBLICIZED, FINALIZED)  # states whose results are approved


def consequences(
    read: ReadSide,
    campaign_id: str,
    *,
    today: date,
    appraisee_id: str | None = None,
    min_position: int | None = None,
    timeout: float = DEFAULT_WAIT_SECONDS,
) -> dict[str, Any]:
    """The consequences the approved results entail (约谈, 限期整改, 组织处理), in results
    order, and how each 限期整改 stands as of `today` (`domain.rectification.
    rectify_tracking`): `{campaign_id, status, published_on, today, items: [{appraisee_id,
    name, position, unit, category, category_label, grade, grade_label, kind, kind_label,
    reason, within_days, due, tracking, held_on}], summary: {missing, open, closed, overdue,
    interviews_pending}}`; `tracking` is null for kinds no plan answers, `held_on` the day
    an interview was recorded as held (`consequence.interview`), null otherwise or until
    then. Before approval `items` is empty: a proposal's consequences are a draft, shown
    with its results."""
    views = ready(read, min_position, timeout)
    row = campaign_row(views, campaign_id)
    campaign_id = row["campaign_id"]
    labels = labels_of(views, campaign_id)
    where = _where(campaign_id=campaign_id, appraisee_id=appraisee_id)
    results, _ = _page(views, "{results}", where, "seq", None, 0)
    if row["status"] not in DECIDED:
        results = []
    plans = rectifications(
        read, today=today, campaign_id=campaign_id, appraisee_id=appraisee_id, limit=None
    )["items"]
    roster = _roster_of(views, campaign_id, [r["appraisee_id"] for r in results])
    interviews = json.loads(row["interviews"] or "{}")
    items = []
    summary = dict.fromkeys(("missing", "open", "closed", "overdue", "interviews_pending"), 0)
    for result in results:
        aid = result["appraisee_id"]
        own = [p for p in plans if p["appraisee_id"] == aid]
        for consequence in json.loads(result["consequences"]):
            tracking = held_on = None
            if consequence["kind"] == RECTIFY:
                tracking = rectify_tracking(consequence.get("due"), own, today)
                summary[tracking["status"]] += 1
                summary["overdue"] += tracking["overdue"]
            elif consequence["kind"] == INTERVIEW:
                held_on = interviews.get(aid, {}).get("held_on")
                summary["interviews_pending"] += held_on is None
            items.append(
                {
                    "appraisee_id": aid,
                    "category": result["category"],
                    **_who(roster.get(aid), labels),
                    "grade": result["grade"],
                    "grade_label": labels.get("grades", {}).get(result["grade"] or ""),
                    "kind": consequence["kind"],
                    "kind_label": labels.get("consequences", {}).get(consequence["kind"]),
                    "reason": consequence["reason"],
                    "within_days": consequence.get("within_days"),
                    "due": consequence.get("due"),
                    "tracking": tracking,
                    "held_on": held_on,
                }
            )
    return {
        "campaign_id": campaign_id,
        "status": row["status"],
        "published_on": row["published_on"],
        "today": today.isoformat(),
        "items": items,
        "summary": summary,
    }


# --- actors, keys, checkpoints, the projection itself --------------------------------------


def actors(
    read: ReadSide,
    *,
    role: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
    offset: int = 0,
    min_position: int | None = None,
    timeout: float = DEFAULT_WAIT_SECONDS,
) -> dict[str, Any]:
    """Actors in registration order: `{actor_id, name, roles, registered_position,
    updated_position, keys: [{key_id, public_key, revoked, added_position,
    revoked_position}]}`. A revoked key's past signatures stay valid."""
    views = ready(read, min_position, timeout)
    where = _where([("roles LIKE ?", [f'%"{role}"%'])] if role else [])
    rows, total = _page(views, "{actors}", where, "registered_position", limit, offset)
    keys: dict[str, list[dict[str, Any]]] = {r["actor_id"]: [] for r in rows}
    if rows:
        with views.reading() as tx:
            found = tx.all(
                f"SELECT * FROM {{keys}} WHERE actor_id IN ({_in(len(rows))}) "
                "ORDER BY actor_id, added_position",
                *keys,
            )
        for key in found:
            keys[key["actor_id"]].append(
                {
                    "key_id": key["key_id"],
                    "public_key": key["public_key"],
                    "revoked": bool(key["revoked"]),
                    "added_position": key["added_position"],
                    "revoked_position": key["revoked_position"],
                }
            )
    items = [
        {
            "actor_id": r["actor_id"],
            "name": r["name"],
            "roles": json.loads(r["roles"]),
            "registered_position": r["registered_position"],
            "updated_position": r["updated_position"],
            "keys": keys[r["actor_id"]],
        }
        for r in rows
    ]
    return _listing(items, total, limit, offset)


def checkpoints(
    read: ReadSide, *, limit: int | None = DEFAULT_LIMIT, offset: int = 0
) -> dict[str, Any]:
    """Signed checkpoints, newest first: `{tree_size, root (base64), note}`. They
    are the ledger's own table, not a projection, so they are always current."""
    views = read.views
    rows, total = _page(views, "{checkpoints}", _where(), "tree_size DESC", limit, offset)
    items = [
        {
            "tree_size": r["tree_size"],
            "root": base64.b64encode(bytes(r["root"])).decode("ascii"),
            "note": r["note"],
        }
        for r in rows
    ]
    return _listing(items, total, limit, offset)


def latest_checkpoint(read: ReadSide) -> dict[str, Any] | None:
    """The newest signed checkpoint, or None before the first."""
    items = checkpoints(read, limit=1)["items"]
    return items[0] if items else None


def projection_lag(read: ReadSide) -> dict[str, Any]:
    """Where the views stand against the ledger: `{"projection", "notification_id",
    "ledger_index" (last leaf included), "head_notification_id", "ledger_size",
    "behind" (events not yet included)}`."""
    position = read.views.position()
    return {
        "projection": "views",
        "notification_id": position.notification_id,
        "ledger_index": position.ledger_index,
        "head_notification_id": position.head_notification_id,
        "ledger_size": position.ledger_size,
        "behind": position.behind,
    }
