"""Per-process state behind the app: the services, sessions, metrics, background threads.

Gunicorn forks workers from a master that never loads the app (no preload), and
even so nothing here touches the store until the first request needs it: the
System (database pools, threads) is built lazily in the process that serves,
never inherited across a fork. The background threads — the checkpointer and,
where configured (`ApiOptions.projections_in_process`), one projection thread —
start with the System and stop in `close`, so tests that build many apps leak none.
"""

import threading

from flask import current_app

from api.config import ApiOptions
from api.metrics import Metrics
from api.observability import HeldLines
from api.sessions import Sessions, load_secret
from bootstrap import Services
from projections import ProjectionThread
from projections.read_side import ReadSide
from service.ledger import Checkpointer
from service.settings import Settings
from service.system import System
from service.witnessing import BackgroundCosigner


class LagGate:
    """Readiness by projection lag: not ready once the views have been more than
    `max_events` behind for at least `max_seconds`, or behind at all without moving
    for that long (a worker that is stopped or failing, however few events it owes).
    A short burst of writes (a meeting's ballots) is not an outage; a stalled
    projection is."""

    def __init__(self, max_events: int, max_seconds: float) -> None:
        self.max_events = max_events
        self.max_seconds = max_seconds
        self._far_behind_since: float | None = None
        self._reached: int | None = None
        self._still_since: float | None = None
        self._lock = threading.Lock()

    def ready(self, behind: int, reached: int | None, now: float) -> bool:
        """`reached`: the last ledger index the views include."""
        with self._lock:
            if behind <= 0:
                self._far_behind_since = self._still_since = None
                return True
            if self._still_since is None or reached != self._reached:
                self._reached, self._still_since = reached, now
            if behind <= self.max_events:
                self._far_behind_since = None
            elif self._far_behind_since is None:
                self._far_behind_since = now
            waited = [now - t for t in (self._still_since, self._far_behind_since) if t is not None]
            return max(waited) < self.max_seconds


class Runtime:
    def __init__(self, settings: Settings, options: ApiOptions, system: System | None) -> None:
        self.settings = settings
        self.options = options
        self.metrics = Metrics()
        self.held_lines = HeldLines()
        self.lag_gate = LagGate(options.ready_max_lag_events, options.ready_max_lag_seconds)
        self.projects_in_process = options.projections_in_process(settings)
        self._given = system
        self._services: Services | None = None
        self._sessions: Sessions | None = None
        self._checkpointer: Checkpointer | None = None
        self._cosigner: BackgroundCosigner | None = None
        self._projections: ProjectionThread | None = None
        self._started = False
        self._lock = threading.Lock()

    @property
    def services(self) -> Services:
        if not self._started:
            with self._lock:
                if not self._started:
                    self._start()
        assert self._services is not None
        return self._services

    @property
    def system(self) -> System:
        return self.services.system

    @property
    def read(self) -> ReadSide:
        return self.services.read

    def _start(self) -> None:
        services = self._services = (
            Services.open(self.settings) if self._given is None else Services.around(self._given)
        )
        if self.options.checkpointer:
            self._checkpointer = Checkpointer(
                services.system.ledger, self.settings.checkpoint_interval
            )
            self._checkpointer.start()
            witnessing = services.system.witnessing
            if witnessing is not None:
                self._cosigner = BackgroundCosigner(witnessing, self.settings.checkpoint_interval)
                self._cosigner.start()
        if self.projects_in_process:
            self._projections = ProjectionThread(
                services.read, poll_interval=self.options.projection_poll_seconds
            ).start()
        self._started = True

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

    def projection_trouble(self) -> str | None:
        """Why this process's own projection thread is not keeping the views, if it runs one."""
        return None if self._projections is None else self._projections.trouble()

    def ledger_size(self) -> int | None:
        """For the metrics scrape: the size if the store answers, else nothing."""
        try:
            return self.system.ledger.size()
        except Exception:  # a scrape must not fail because the store is down
            return None

    def close(self) -> None:
        """Stop the background threads; close the System only if this runtime built it."""
        self.held_lines.release()
        with self._lock:
            if self._projections is not None:
                self._projections.stop()
                self._projections = None
            if self._checkpointer is not None:
                self._checkpointer.stop()
                self._checkpointer = None
            if self._cosigner is not None:
                self._cosigner.stop()
                self._cosigner = None
            if self._services is not None:
                if self._given is None:
                    self._services.close()
                else:
                    self._services.read.close()
            self._services = None
            self._started = False


def current_runtime() -> Runtime:
    return current_app.extensions["appraisal"]


def current_system() -> System:
    return current_runtime().system


def current_read() -> ReadSide:
    return current_runtime().read
