"""Per-process state behind the app: the System, sessions, metrics, the checkpointer.

Gunicorn forks workers from a master that never loads the app (no preload), and
even so nothing here touches the store until the first request needs it: the
System (database pools, threads) is built lazily in the process that serves,
never inherited across a fork.
"""

import threading

from flask import current_app

from api.config import ApiOptions
from api.metrics import Metrics
from api.sessions import Sessions, load_secret
from service.ledger import Checkpointer
from service.settings import Settings
from service.system import System


class Runtime:
    def __init__(self, settings: Settings, options: ApiOptions, system: System | None) -> None:
        self.settings = settings
        self.options = options
        self.metrics = Metrics()
        self._system = system
        self._owns_system = system is None
        self._sessions: Sessions | None = None
        self._checkpointer: Checkpointer | None = None
        self._started = False
        self._lock = threading.Lock()

    @property
    def system(self) -> System:
        if not self._started:
            with self._lock:
                if not self._started:
                    if self._system is None:
                        self._system = System.open(self.settings)
                    if self.options.checkpointer:
                        self._checkpointer = Checkpointer(
                            self._system.ledger, self.settings.checkpoint_interval
                        )
                        self._checkpointer.start()
                    self._started = True
        assert self._system is not None
        return self._system

    @property
    def sessions(self) -> Sessions:
        if self._sessions is None:
            with self._lock:
                if self._sessions is None:
                    secret = load_secret(self.options.session_secret, self.settings.data_dir)
                    self._sessions = Sessions(
                        secret, self.options.challenge_ttl_seconds, self.options.token_ttl_seconds
                    )
        return self._sessions

    def ledger_size(self) -> int | None:
        """For the metrics scrape: the size if the store answers, else nothing."""
        try:
            return self.system.ledger.size()
        except Exception:  # a scrape must not fail because the store is down
            return None

    def close(self) -> None:
        """Stop the checkpointer; close the System only if this runtime built it."""
        with self._lock:
            if self._checkpointer is not None:
                self._checkpointer.stop()
                self._checkpointer = None
            if self._owns_system and self._system is not None:
                self._system.close()
                self._system = None
            self._started = False


def current_runtime() -> Runtime:
    return current_app.extensions["appraisal"]


def current_system() -> System:
    return current_runtime().system
