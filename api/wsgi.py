"""WSGI entry point for `gunicorn api.wsgi:app`; the store is opened on first request."""

from api import create_app

app = create_app()
