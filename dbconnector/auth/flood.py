"""Flood control: per-user limits on authenticated calls, per-address and per-username on /v1/auth.

Built on `limits` (the storage and window algorithms flask-limiter itself uses) rather than on
flask-limiter's decorators: those bind to one Limiter at import time and count before the view's
own code runs, while our key is the *authenticated* user id, known only after the token check, and
tests run several apps (memory and Redis) in one process. Counts live in
DBCONNECTOR_RATELIMIT_STORAGE_URL (memory:// in one process, redis:// shared by every instance).
If that storage is unreachable the call is let through and a warning logged: flood control must
not take the service down.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from ..errors import Flooded

log = logging.getLogger(__name__)


class FloodGuard:
    def __init__(
        self, storage_url: str, user_limits: str, auth_limits: str, prefix: str = "dbc"
    ) -> None:
        self.storage: Storage = storage_from_string(storage_url)
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
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
            try:
                allowed = self.strategy.hit(item, self.prefix, scope, key)
            except Exception:  # storage down: fail open, loudly
                log.warning("rate-limit storage unreachable; %s not counted", scope)
                return
            if not allowed:
                raise Flooded(self._retry_after(item, scope, key))

    def _retry_after(self, item: RateLimitItem, scope: str, key: str) -> int:
        try:
            stats = self.strategy.get_window_stats(item, self.prefix, scope, key)
            return max(1, math.ceil(stats.reset_time - time.time()))
        except Exception:
            return item.get_expiry()
