"""Native cancel of the statements this process's workers run.

Each running job registers the DB-API connection its statement runs on and that connection's
server-side id. The watcher (worker.py) sees a cancel asked for by any instance in the job's row
and calls `cancel`, which stops the statement at the database through the driver: libpq's cancel
request (PostgreSQL), KILL QUERY on the thread id (MySQL/MariaDB), KILL of the session (SQL
Server), Connection.interrupt() (SQLite).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from ...drivers.base import Driver
from .pages import Cancelled

log = logging.getLogger(__name__)
RESEND_SECONDS = 1.0


@dataclass
class Running:
    job_id: str
    driver: Driver | None = None
    engine: Engine | None = None
    dbapi_connection: Any = None
    backend_id: Any = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    sent_at: float = 0.0
    # A transfer's second connection (its target), cancelled together with this one.
    partner: Running | None = None
    # A transfer's rows read and written so far, kept in its summary.
    progress: dict[str, int] | None = None

    def attach(self, driver: Driver, engine: Engine, dbapi_connection: Any) -> None:
        """Watch the statements about to run on `dbapi_connection` (execution/session.py)."""
        self.driver, self.engine, self.dbapi_connection = driver, engine, dbapi_connection
        self.backend_id = driver.backend_id(dbapi_connection)
        if self.cancelled.is_set():  # asked for before there was a statement to cancel
            raise Cancelled()

    def detach(self) -> None:
        self.dbapi_connection = None


class Registry:
    """The jobs this process runs now, by id."""

    def __init__(self) -> None:
        self._running: dict[str, Running] = {}
        self._lock = threading.Lock()

    def add(self, job_id: str) -> Running:
        running = Running(job_id)
        with self._lock:
            self._running[job_id] = running
        return running

    def remove(self, job_id: str) -> None:
        with self._lock:
            self._running.pop(job_id, None)

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def cancel(self, job_id: str) -> None:
        """Flag the job and cancel its statement; sent again (at most once a second) while the
        job still runs, since a cancel that lands between two statements stops neither."""
        with self._lock:
            running = self._running.get(job_id)
        if running is None:
            return
        running.cancelled.set()
        now = time.monotonic()
        if now - running.sent_at < RESEND_SECONDS:
            return
        running.sent_at = now
        for side in (running, running.partner):
            if side is not None:
                _send(side)


def _send(running: Running) -> None:
    connection = running.dbapi_connection
    if connection is None or running.driver is None or running.engine is None:
        return  # between statements: the runner sees the flag at its next step
    try:
        running.driver.cancel(running.engine, connection, running.backend_id)
    except Exception:  # the statement may have just ended; the flag still stops the job
        log.warning("cancelling job %s at the database failed", running.job_id, exc_info=True)
