"""Flood control: per-user limits on authenticated calls, per-address and per-username on /v1/auth.

Built on `limits` (the storage and window algorithms flask-limiter itself uses) rather than on
flask-limiter's decorators: those bind to one Limiter at import time and count before the view's
own code runs, while our key is the *authenticated* user id, known only after the token check, and
tests run several apps (memory and Redis) in one process. Counts live in
DBCONNECTOR_RATELIMIT_STORAGE_URL: shm:// (the default) in a file in the data dir that every
worker of the instance shares (SharedWindows), memory:// in one process (our own thread-free
LocalWindows rather than limits' MemoryStorage), redis:// shared by every instance.

If the shared storage (Redis, or the shared table) fails, counting moves to this process's
memory, so limits still hold (per process rather than shared) and the service keeps serving:
flood control must not take it down. The switch is logged once, the storage is probed again at
most every RETRY_SECONDS, and counting returns to it (and is logged) as soon as it answers.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path

from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from ..errors import Flooded
from .local_windows import LocalWindows
from .shared_windows import SharedWindows

log = logging.getLogger(__name__)


SHM_URL = "shm://"
RETRY_SECONDS = 5.0
# A Redis that stops answering must cost a call at most this long, not hang it.
_REDIS_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


def make_storage(storage_url: str, data_dir: Path) -> Storage:
    """shm:// (the data dir's flood.shm, every worker of the instance), memory:// (this process
    only) or a Redis URL (every instance)."""
    if storage_url == SHM_URL:
        return SharedWindows(data_dir)
    if storage_url.startswith("memory://"):
        return LocalWindows()
    return storage_from_string(storage_url, **_REDIS_OPTIONS)


class FloodGuard:
    def __init__(
        self,
        storage_url: str,
        user_limits: str,
        auth_limits: str,
        data_dir: Path,
        prefix: str = "dbc",
    ) -> None:
        shared = not storage_url.startswith("memory://")
        self.storage = make_storage(storage_url, data_dir)
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        # The in-memory stand-in used while the shared storage is down.
        self.fallback = SlidingWindowCounterRateLimiter(LocalWindows()) if shared else None
        self.degraded = False
        self._retry_at = 0.0
        self._lock = threading.Lock()
        self.user_limits = parse_many(user_limits)
        self.auth_limits = parse_many(auth_limits)
        self.prefix = prefix

    def check_user(self, user_id: int) -> None:
        self._hit(self.user_limits, "user", str(user_id))

    def check_auth(self, address: str, username: str | None) -> None:
        self._hit(self.auth_limits, "auth-ip", address)
        if username:
            self._hit(self.auth_limits, "auth-user", username.lower())

    def _hit(self, items: list[RateLimitItem], scope: str, key: str) -> None:
        for item in items:
            strategy = self._current()
            try:
                allowed = strategy.hit(item, self.prefix, scope, key)
            except Exception:
                strategy = self._degrade()
                if strategy is None:  # nothing to fall back on: let the call through
                    return
                allowed = strategy.hit(item, self.prefix, scope, key)
            if not allowed:
                raise Flooded(self._retry_after(strategy, item, scope, key))

    def _current(self) -> SlidingWindowCounterRateLimiter:
        if not self.degraded:
            return self.strategy
        assert self.fallback is not None
        if time.monotonic() < self._retry_at:
            return self.fallback
        with self._lock:
            if self.degraded and time.monotonic() >= self._retry_at:
                self._retry_at = time.monotonic() + RETRY_SECONDS
                if self._storage_answers():
                    self.degraded = False
                    log.warning("rate-limit storage answers again; counting there again")
        return self.fallback if self.degraded else self.strategy

    def _degrade(self) -> SlidingWindowCounterRateLimiter | None:
        if self.fallback is None:
            return None
        with self._lock:
            if not self.degraded:
                self.degraded = True
                self._retry_at = time.monotonic() + RETRY_SECONDS
                log.warning(
                    "rate-limit storage unreachable; counting in this process's memory until "
                    "it answers (probed every %.0f s)",
                    RETRY_SECONDS,
                )
        return self.fallback

    def _storage_answers(self) -> bool:
        try:
            return bool(self.storage.check())
        except Exception:
            return False

    def _retry_after(
        self, strategy: SlidingWindowCounterRateLimiter, item: RateLimitItem, scope: str, key: str
    ) -> int:
        try:
            stats = strategy.get_window_stats(item, self.prefix, scope, key)
            return max(1, math.ceil(stats.reset_time - time.time()))
        except Exception:
            return item.get_expiry()
