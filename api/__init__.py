"""The HTTP edge: signed commands, sessions, ledger reads, documented by OpenAPI.

`gunicorn 'api:create_app()'` serves it; see `service.serve` for the CLI.
"""

from api.app import create_app

__all__ = ["create_app"]
