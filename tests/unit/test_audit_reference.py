"""docs/AUDIT.md is a verifier's reference generated against the code: its event catalogue
names exactly the topics the provenance table has (and marks exactly the envelope-less
ones), its signer table is the command specs' roles, and its answer table covers every
command type. A topic, command type or role change that the doc does not follow fails."""

import re
from pathlib import Path

from domain import provenance
from domain.registry import ROLES
from service.system import command_specs

AUDIT = (Path(__file__).parents[2] / "docs" / "AUDIT.md").read_text(encoding="utf-8")
TOPIC = re.compile(r"^- `(domain\.[a-z_]+:[A-Za-z]+\.[A-Za-z]+)` —(.*?)(?=^- |^#|\Z)", re.M | re.S)


def section(title: str) -> str:
    """The text from a heading to the next heading of the same or a higher level."""
    start = AUDIT.index(f"\n{title}\n") + 1
    level = len(title.split(" ")[0])
    body = start + len(title)
    for match in re.finditer(r"^(#{1,6}) ", AUDIT[body:], re.M):
        if len(match.group(1)) <= level:
            return AUDIT[start : body + match.start()]
    return AUDIT[start:]


def catalogue() -> dict[str, str]:
    return {m.group(1): m.group(2) for m in TOPIC.finditer(section("## Event catalogue"))}


def test_the_catalogue_describes_every_topic_and_no_other() -> None:
    assert set(catalogue()) == set(provenance.RULES)


def test_the_catalogue_marks_exactly_the_events_without_an_envelope() -> None:
    unsigned = {t for t, text in catalogue().items() if "**no envelope**" in text}
    assert unsigned == provenance.WITHOUT_ENVELOPE


def test_the_catalogue_names_every_command_type_and_no_other() -> None:
    """Every command type some event follows from, named as one (`c.x` are fields)."""
    named = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", section("## Event catalogue")))
    assert {n for n in named if not n.startswith("c.")} == set(command_specs())


def test_the_signer_table_is_the_command_specs() -> None:
    rows = re.findall(r"^\| `([a-z_.]+)` \| ([a-z, ]+) \| (yes|no) \|$", AUDIT, re.M)
    documented = {
        command_type: (
            frozenset(ROLES) if roles == "any role" else frozenset(roles.split(", ")),
            credential == "yes",
        )
        for command_type, roles, credential in rows
    }
    actual = {t: (spec.roles, spec.credential_allowed) for t, spec in command_specs().items()}
    assert documented == actual


def test_the_answer_table_covers_every_command_type() -> None:
    rows = re.findall(r"^  \| (`[a-z_.]+`(?:, `[a-z_.]+`)*) \|", AUDIT, re.M)
    documented = [t for row in rows for t in re.findall(r"`([a-z_.]+)`", row)]
    assert sorted(documented) == sorted(provenance.RESULTS)
