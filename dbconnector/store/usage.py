"""Each execution call adds one to its connection's Count and moves LastUse forward.

Writing that row on every call would put a metadata-database write (and, on SQLite, the database's
single write lock) on the hot path. Uses are summed in memory and flushed every
DBCONNECTOR_USAGE_FLUSH_SECONDS (2 s) by a background thread, at worker exit, and at interpreter
exit; 0 writes through on every call. A crashed process loses at most that window of counts.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading

from sqlalchemy import Engine

from . import connections as conn_store
from .db import utcnow, write

log = logging.getLogger(__name__)


class UsageRecorder:
    def __init__(self, engine: Engine, interval: float) -> None:
        self.engine = engine
        self.interval = interval
        self._pending: dict[int, tuple[int, dt.datetime]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        if interval > 0:
            atexit.register(self.flush)

    def record(self, connection_id: int) -> None:
        now = utcnow()
        with self._lock:
            count, _ = self._pending.get(connection_id, (0, now))
            self._pending[connection_id] = (count + 1, now)
        if self.interval <= 0:
            self.flush()
        elif self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="dbc-usage", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            with write(self.engine) as conn:
                conn_store.add_usage(conn, pending)
        except Exception:  # never lose the counts to a passing metadata-database hiccup
            log.warning("could not record connection usage; will retry", exc_info=True)
            with self._lock:
                for key, (count, last) in pending.items():
                    now_count, now_last = self._pending.get(key, (0, last))
                    self._pending[key] = (count + now_count, max(last, now_last))

    def close(self) -> None:
        self._stop.set()
        self.flush()
