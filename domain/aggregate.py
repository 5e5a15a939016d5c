"""The base of every aggregate: eventsourcing's `Aggregate`. `@event("Name")` makes each
event class when the aggregate class is created, so a type checker cannot see
`Campaign.ResultsProposed`; under type checking only, the base's metaclass answers
such names with an event class. At run time this is `Aggregate` itself."""

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from eventsourcing.domain import Aggregate, CanMutateProtocol

if TYPE_CHECKING:
    from eventsourcing.domain import MetaAggregate

    class _WithEventClasses(MetaAggregate):
        def __getattr__(cls, name: str) -> type[Aggregate.Event]: ...

    class EventSourced(Aggregate, metaclass=_WithEventClasses):
        pass

else:
    EventSourced = Aggregate


A = TypeVar("A", bound=Aggregate)


def created_at(
    cls: type[A], event_class: type[Aggregate.Event], at: datetime | None, **fields: Any
) -> A:
    """A new aggregate whose created event records time `at` rather than the clock's (None:
    the clock). eventsourcing takes a `timestamp` here; its typing wants the created event
    class as `CanInitAggregate`, which `@event` classes are at run time."""
    return cls._create(cast(Any, event_class), timestamp=at, **fields)


def applied(aggregate: Any | None, events: Iterable[Any]) -> Any | None:
    """`aggregate` (None: before its stream's first event) with `events` applied in order.
    Stored events are typed loosely by the library's mappers, hence `Any`."""
    for event in events:
        aggregate = cast(CanMutateProtocol[Aggregate], event).mutate(aggregate)
    return aggregate
