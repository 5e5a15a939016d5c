"""What the read side is given by the composition root: the application, to replay
aggregates and read stored envelopes, and the view tables beside its events."""

from dataclasses import dataclass

from projections.store import ViewStore, open_views
from service.application import AppraisalApplication


@dataclass(frozen=True)
class ReadSide:
    app: AppraisalApplication
    views: ViewStore

    @classmethod
    def open(cls, app: AppraisalApplication) -> "ReadSide":
        return cls(app, open_views(app))
