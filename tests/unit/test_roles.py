"""The permissions table: every command type and read has one entry, and the bus,
the auditor and the HTTP edge take their roles from it."""

import pytest

from domain.roles import FOR_ANYONE, READERS, ROLES, SIGNERS, for_anyone
from service.system import command_specs

# DESIGN §3.1's signer column, read directly: an independent model of part of the table.
DESIGN_SIGNERS = {
    "actor.register": {"admin"},
    "campaign.create": {"admin", "organizer"},
    "campaign.add_appraisees": {"admin", "organizer"},
    "campaign.publish": {"admin", "organizer"},
    "balloting.open": {"organizer"},
    "balloting.close": {"organizer"},
    "results.propose": {"organizer", "admin"},
    "results.approve": {"committee"},
    "results.publish": {"admin"},
}


def test_every_command_type_has_its_signers_and_no_entry_is_dead() -> None:
    specs = command_specs()
    assert set(specs) == set(SIGNERS)
    assert all(spec.roles == SIGNERS[kind] for kind, spec in specs.items())


@pytest.mark.parametrize("table", [SIGNERS, READERS, FOR_ANYONE], ids=["sign", "read", "anyone"])
def test_each_entry_names_known_roles_only(table) -> None:
    assert all(allowed and allowed <= ROLES for allowed in table.values())


@pytest.mark.parametrize(("kind", "signers"), sorted(DESIGN_SIGNERS.items()))
def test_the_design_s_signers(kind: str, signers: set[str]) -> None:
    assert SIGNERS[kind] == signers


def test_acting_for_anyone_needs_the_right_to_act_at_all() -> None:
    for action, roles in FOR_ANYONE.items():
        assert roles <= {**SIGNERS, **READERS}[action], action


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [({"inspector"}, True), ({"cadre"}, False), ({"cadre", "organizer"}, True), (set(), False)],
)
def test_for_anyone(roles: set[str], allowed: bool) -> None:
    assert for_anyone(frozenset(roles), "dispute.lodge") is allowed
