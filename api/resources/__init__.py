"""The API's resources, one blueprint per area."""

from api.resources import (
    actors,
    ballots,
    batch,
    campaigns,
    commands,
    ledger,
    meetings,
    operations,
    rectifications,
    sessions,
)

BLUEPRINTS = (
    commands.blp,
    batch.blp,
    sessions.blp,
    campaigns.blp,
    ballots.blp,
    meetings.blp,
    rectifications.blp,
    ledger.blp,
    actors.blp,
    operations.blp,
)
