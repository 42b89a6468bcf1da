"""A small thread-safe time-to-live cache for per-request lookups in the metadata database.

User state, connection records and grants are read on every authenticated call; caching them for a
few seconds (DBCONNECTOR_CACHE_SECONDS) takes the metadata database off the hot path while a
disabled user, a changed role or a revoked grant still takes effect within that many seconds on
every instance. Writes made through this instance invalidate at once in all its workers
(store/epoch.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._data: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()
        # Bumped by every invalidation: a value loaded before one is not kept after it.
        self._generation = 0

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation
        value = load()
        if self.ttl > 0:
            with self._lock:
                if generation == self._generation:
                    if len(self._data) >= self.max_entries:
                        self._data.clear()
                    self._data[key] = (now + self.ttl, value)
        return value

    def invalidate(self, predicate: Callable[[Hashable], bool] | None = None) -> None:
        with self._lock:
            self._generation += 1
            if predicate is None:
                self._data.clear()
            else:
                for key in [k for k in self._data if predicate(k)]:
                    del self._data[key]
