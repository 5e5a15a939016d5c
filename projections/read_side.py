"""What the read side is given by the composition root: the application, to replay
aggregates and read stored envelopes, and the view tables beside its events.

With a read replica configured, queries (and their read-your-writes waits) go to the
replica's copy of the views, while the projection writes, and derivations are stored,
on the primary.
"""

from dataclasses import dataclass

from projections.store import ViewStore, open_replica_views, open_views
from service.application import AppraisalApplication


@dataclass(frozen=True)
class ReadSide:
    app: AppraisalApplication
    views: ViewStore  # on the primary: what the projection writes
    replica: ViewStore | None = None

    @classmethod
    def open(cls, app: AppraisalApplication) -> "ReadSide":
        return cls(app, open_views(app), open_replica_views(app))

    @property
    def queried(self) -> ViewStore:
        """Where queries read: the replica when there is one."""
        return self.views if self.replica is None else self.replica

    def close(self) -> None:
        if self.replica is not None:
            self.replica.datastore.close()
