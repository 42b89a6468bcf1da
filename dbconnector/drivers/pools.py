"""One SQLAlchemy engine (a connection pool) per connToken, rebuilt when its string changes.

Engines are made on first use. A changed connection string (PATCH) has a new fingerprint, so the
next call gets a new engine and the old one is disposed; DELETE disposes at once.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from ..lib.private import private_dir
from ..lib.writelock import WriteLock
from ..telemetry.metrics import watch_pool

if TYPE_CHECKING:
    from ..config import Settings
    from .base import Target


class PoolRegistry:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engines: dict[str, tuple[str, Engine]] = {}
        self._write_locks: dict[str, WriteLock] = {}
        self._lock = threading.Lock()

    def engine(self, target: Target) -> Engine:
        entry = self._engines.get(target.token)
        if entry is not None and entry[0] == target.fingerprint:
            return entry[1]
        with self._lock:
            entry = self._engines.get(target.token)
            if entry is not None and entry[0] == target.fingerprint:
                return entry[1]
            engine = target.driver.make_engine(target, self.settings)
            watch_pool(engine, target.name or target.token[:8])
            self._engines[target.token] = (target.fingerprint, engine)
        if entry is not None:
            entry[1].dispose()  # idle connections close; ones in use finish first
        return engine

    def write_lock(self, target: Target) -> WriteLock:
        """The lock a target's writers queue on; its file lives in the data dir, not beside the
        target database, and the service's workers all find it there."""
        lock = self._write_locks.get(target.token)
        if lock is None:
            directory = private_dir(self.settings.data_dir / "locks")
            lock = self._write_locks.setdefault(
                target.token, WriteLock(directory / f"connection-{target.connection_id}.lock")
            )
        return lock

    def discard(self, token: str) -> None:
        with self._lock:
            entry = self._engines.pop(token, None)
        if entry is not None:
            entry[1].dispose()

    def dispose_all(self) -> None:
        with self._lock:
            entries, self._engines = list(self._engines.values()), {}
        for _, engine in entries:
            engine.dispose()
