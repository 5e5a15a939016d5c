"""The API's resources, one blueprint per area."""

from api.resources import actors, commands, ledger, operations, sessions

BLUEPRINTS = (
    commands.blp,
    sessions.blp,
    ledger.blp,
    actors.blp,
    operations.blp,
)
