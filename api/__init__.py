"""The HTTP edge: signed commands, sessions, reads from the projections, ledger
proofs, all documented by OpenAPI. Who may read what: `api.reads`.

`gunicorn 'api:create_app()'` serves it; see `entrypoints.serve` for the CLI.
"""

from api.app import create_app

__all__ = ["create_app"]
