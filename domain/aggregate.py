"""The base of every aggregate: eventsourcing's `Aggregate`. `@event("Name")` makes each
event class when the aggregate class is created, so a type checker cannot see
`Campaign.ResultsProposed`; under type checking only, the base's metaclass answers
such names with an event class. At run time this is `Aggregate` itself."""

from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

if TYPE_CHECKING:
    from eventsourcing.domain import MetaAggregate

    class _WithEventClasses(MetaAggregate):
        def __getattr__(cls, name: str) -> type[Aggregate.Event]: ...

    class EventSourced(Aggregate, metaclass=_WithEventClasses):
        pass

else:
    EventSourced = Aggregate
