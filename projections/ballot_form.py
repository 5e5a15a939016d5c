"""The public ballot definition of one group in one meeting: what a ballot page draws.

A resident with a credential slip has no account, so this read needs no login, and it
shows only what a paper ballot shows: the campaign's title, the group's label and form,
the choices or dimensions with their labels, the meeting's appraisees with name,
position and unit, and the validity rules the voter can break. No actor id, key, count
of ballots or anything else that a slip holder has no business reading.

It is read from the meeting itself (the copy of the frozen rules and the appraisee ids
that `ballot.cast` judges against) and the campaign's roster, so the page and the
server cannot disagree about a ballot's form.
"""

from fractions import Fraction
from typing import Any
from uuid import UUID

from domain.balloting import Meeting
from domain.ballots import choice_caps
from domain.campaign import Campaign
from domain.errors import NotFound, RuleViolation
from domain.rules import DIMENSION_SCORES, GRADE_CHOICE, Group, Rules, parse_rules
from projections.access import uuid_text
from projections.read_side import ReadSide


def ballot_definition(read: ReadSide, meeting_id: str, group_code: str) -> dict[str, Any]:
    """`{campaign_id, campaign_title, meeting_id, open, opened_at, group {code, label, anonymous,
    form}, scale, choices, dimensions, indicators, appraisees, validity}` (see the schema)."""
    meeting_id = uuid_text(meeting_id, "meeting")
    meeting = read.app.get(UUID(meeting_id), Meeting)
    rules = parse_rules(meeting.rules)
    try:
        group = rules.group(group_code)
    except RuleViolation:
        raise NotFound(f"no group {group_code!r} in meeting {meeting_id}") from None
    campaign = read.app.get(UUID(meeting.campaign_id), Campaign)
    return {
        "campaign_id": meeting.campaign_id,
        "campaign_title": campaign.title,
        "meeting_id": meeting_id,
        "open": meeting.is_open,
        "opened_at": meeting.opened_at,
        "group": {
            "code": group.code,
            "label": group.label,
            "anonymous": group.anonymous,
            "form": group.form,
        },
        "scale": rules.scale,
        "choices": [
            {"code": c.code, "label": c.label} for c in rules.choices if group.form == GRADE_CHOICE
        ],
        "dimensions": [
            {"code": d.code, "label": d.label}
            for d in rules.dimensions
            if group.form == DIMENSION_SCORES
        ],
        "indicators": [
            {"code": i.code, "label": i.label, "points": _exact(i.points), "section": i.section}
            for i in group.indicators
        ],
        "appraisees": [
            {k: entry[k] for k in ("appraisee_id", "name", "position", "unit")}
            for entry in campaign.appraisees.values()  # in roster order, as on paper
            if entry["appraisee_id"] in meeting.appraisees
        ],
        "validity": _validity(rules, group, len(meeting.appraisee_ids)),
    }


def _validity(rules: Rules, group: Group, rows: int) -> dict[str, Any]:
    """The rules a voter can break, each with what a full ballot may carry."""
    full = choice_caps(rules, group, rows)
    return {
        "abstain_allowed": True,  # check_ballot_shape takes an abstaining row in every form
        "max_choice_share": [
            {
                "choice": code,
                "share": _exact(rules.ballot_validity.max_choice_share[code]),
                "max_count_full_ballot": cap,
            }
            for code, cap in full.items()
        ],
    }


def _exact(value: Fraction) -> str:
    """A Fraction as "n/d" (the integer alone when d is 1): the page does integer arithmetic."""
    return str(value)
