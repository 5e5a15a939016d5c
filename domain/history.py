"""A cadre's grades across years, for cross-year rules (e.g. incompetent two years
running → organisational disposal review)."""

import uuid
from uuid import UUID

from eventsourcing.domain import event

from domain.aggregate import EventSourced
from domain.registry import NAMESPACE


def history_id(person_id: str) -> UUID:
    return uuid.uuid5(NAMESPACE, f"person:{person_id}")


class GradeHistory(EventSourced):
    @event("Started")
    def __init__(self, id: UUID, person_id: str) -> None:
        self.person_id = person_id
        self.grades: dict[str, dict[str, str]] = {}  # year -> {campaign_id, grade}

    @event("GradeRecorded")
    def record(self, year: int, campaign_id: str, grade: str) -> None:
        self.grades[str(year)] = {"campaign_id": campaign_id, "grade": grade}

    def before(self, year: int) -> list[str]:
        """Grades of the unbroken run of years just before `year`, oldest first: a gap
        year breaks a "consecutive years" rule."""
        run = []
        previous = year - 1
        while str(previous) in self.grades:
            run.append(self.grades[str(previous)]["grade"])
            previous -= 1
        return run[::-1]
