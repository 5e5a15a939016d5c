"""Who may do what (DESIGN §3): the roles, the roles that may sign each command type,
the roles that may see each read, and who may act for others.

One table, so a permission changes in one place: the command bus enforces `SIGNERS`,
the offline auditor checks every envelope against it, and the HTTP edge guards each
read with `READERS`. Role names are the wire's; nothing else spells them.
"""

from collections.abc import Collection, Mapping

ADMIN = "admin"
ORGANIZER = "organizer"
TELLER = "teller"
CADRE = "cadre"
EVALUATOR = "evaluator"
COMMITTEE = "committee"
INSPECTOR = "inspector"
AUDITOR = "auditor"
ROLES = frozenset({ADMIN, ORGANIZER, TELLER, CADRE, EVALUATOR, COMMITTEE, INSPECTOR, AUDITOR})

ORGANIZERS = frozenset({ADMIN, ORGANIZER})
# See everything on the read side: named ballots' signers, groups below their anonymity floor.
PRIVILEGED = frozenset({INSPECTOR, AUDITOR})
# Everyone involved in a case (disputes, rectification), the appraisee included.
CASE_PARTIES = frozenset({ADMIN, ORGANIZER, COMMITTEE, INSPECTOR, AUDITOR, CADRE})

SIGNERS: Mapping[str, frozenset[str]] = {
    "actor.register": frozenset({ADMIN}),
    "actor.add_key": frozenset({ADMIN}),
    "actor.rotate_key": ROLES,
    "actor.revoke_key": ROLES,
    "actor.grant_roles": frozenset({ADMIN}),
    "actor.revoke_roles": frozenset({ADMIN}),
    "campaign.create": ORGANIZERS,
    "campaign.amend": ORGANIZERS,
    "campaign.add_appraisees": ORGANIZERS,
    "campaign.set_work_groups": ORGANIZERS,
    "campaign.publish": ORGANIZERS,
    "campaign.name_committee": ORGANIZERS,  # by the campaign's own organiser (domain.duties)
    "campaign.countersign_committee": frozenset({INSPECTOR}),
    "assessment.record": ORGANIZERS | {COMMITTEE},
    "report.submit": frozenset({CADRE}),
    "report.accept": ORGANIZERS,
    "report.return": ORGANIZERS,
    "balloting.open": frozenset({ORGANIZER}),
    "ballot.cast": ROLES,  # and one-time credentials; the ballot right decides (BallotRight)
    "balloting.close": frozenset({ORGANIZER}),
    "balloting.countersign": frozenset({INSPECTOR}),
    "credentials.void": frozenset({ORGANIZER}),
    "ballot.void_entry": frozenset({TELLER}),  # the entering teller only (BallotRight)
    "results.propose": ORGANIZERS,
    "results.approve": frozenset({COMMITTEE}),
    "results.publish": frozenset({ADMIN}),
    "results.finalize": frozenset({ADMIN}),
    "dispute.lodge": ORGANIZERS | {CADRE, INSPECTOR},
    "dispute.resolve": frozenset({INSPECTOR}),
    "feedback.acknowledge": frozenset({CADRE}),
    "consequence.interview": ORGANIZERS,  # the organisation holds the 约谈 and records it
    "rectification.create": ORGANIZERS,
    "rectification.progress": ORGANIZERS | {CADRE},
    "rectification.check": frozenset({INSPECTOR, ORGANIZER}),
    "rectification.close": ORGANIZERS,
}

READERS: Mapping[str, frozenset[str]] = {
    "campaigns": ROLES,
    "results": ROLES,  # published for supervision (公示); the anonymity floor applies
    "explanation": PRIVILEGED | ORGANIZERS | {COMMITTEE, CADRE},
    "ballots": PRIVILEGED | {ORGANIZER},
    "reconciliation": ROLES,
    "reports": ROLES,
    "disputes": CASE_PARTIES,
    "rectifications": CASE_PARTIES,
    "consequences": CASE_PARTIES,  # 约谈, 限期整改, 组织处理: read as the plans they require are
    "actors": PRIVILEGED | {ADMIN},
    "projection": frozenset({ADMIN}),
    # Stored states carry named scores and personnel data (DESIGN §6); the checkpoints,
    # proofs and leaf hashes that make the ledger provable stay public.
    "ledger_entries": PRIVILEGED,
    # A proposal before the committee approves it is a draft: its makers and supervisors
    # read it, evaluators and tellers do not (they would see the result they are voting on).
    "draft_results": PRIVILEGED | ORGANIZERS | {COMMITTEE},
    # The official forms (附件4, 6, 7): the office that files them and its supervisors; the
    # anonymity floor applies as on the results, for all but inspectors and auditors.
    "forms": PRIVILEGED | ORGANIZERS | {COMMITTEE},
}

# Who may sign a command or see a read for anyone; the other signers or readers do it
# for themselves only: their own appraisee (Campaign.require_own_appraisee) or keys.
FOR_ANYONE: Mapping[str, frozenset[str]] = {
    "actor.rotate_key": frozenset({ADMIN}),
    "actor.revoke_key": frozenset({ADMIN}),
    "dispute.lodge": ORGANIZERS | {INSPECTOR},
    "rectification.progress": ORGANIZERS,
    "explanation": PRIVILEGED | ORGANIZERS | {COMMITTEE},
    "disputes": PRIVILEGED | ORGANIZERS | {COMMITTEE},
    "rectifications": PRIVILEGED | ORGANIZERS | {COMMITTEE},
    "consequences": PRIVILEGED | ORGANIZERS | {COMMITTEE},
}


def for_anyone(roles: Collection[str], action: str) -> bool:
    """Whether these roles may do `action` (a command type or a read) for anyone."""
    return bool(FOR_ANYONE[action] & set(roles))
