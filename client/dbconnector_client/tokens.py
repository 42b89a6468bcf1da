"""The client's token pair: login on first use, refresh shortly before the authToken expires or
when the service says it has, one refresh at a time.

The service's refresh tokens work once, and presenting a spent one revokes every token of the
user. So refreshing is serialised per client: the first thread that finds the pair stale
refreshes it while the others wait on the lock and then use the new pair. A refresh the service
refuses falls back to one fresh login, when the client has a password.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import RefreshRejected, Unauthorized

log = logging.getLogger("dbconnector_client")

# (path, body, authToken or "") -> the service's JSON answer; raises on a refusal.
Post = Callable[[str, dict[str, Any], str], Any]

# Refresh this long before the authToken is due to expire, at most; less for short tokens.
MAX_MARGIN = 10.0


@dataclass(frozen=True)
class Pair:
    userid: int | None
    auth_token: str
    refresh_token: str
    refresh_at: float  # on the keeper's clock


def token_lifetime(auth_token: str) -> float | None:
    """The seconds an authToken is surely valid for, read from its (unverified) exp and iat."""
    try:
        payload = auth_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        lifetime = float(claims["exp"]) - float(claims["iat"])
    except (IndexError, KeyError, TypeError, ValueError):
        return None
    # JWT times are whole seconds, so the token may expire up to 1 s sooner than exp - iat says.
    return max(lifetime - 1.0, lifetime / 2)


class TokenKeeper:
    """Holds one user's token pair and renews it; safe to share between threads."""

    def __init__(
        self,
        post: Post,
        username: str | None,
        password: str | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._post = post
        self._username = username
        self._password = password
        self._clock = clock
        self._lock = threading.Lock()
        self._pair: Pair | None = None
        self.logins = 0
        self.refreshes = 0

    def adopt(self, auth_token: str, refresh_token: str, userid: int | None = None) -> None:
        """Start from a pair obtained elsewhere (a client with no password)."""
        with self._lock:
            self._pair = self._pair_from(
                {"userid": userid, "authToken": auth_token, "refreshToken": refresh_token}
            )

    @property
    def pair(self) -> Pair | None:
        """The current pair (None before the first login)."""
        return self._pair

    def token(self) -> str:
        """A current authToken: logs in or refreshes first when needed."""
        pair = self._pair
        if pair is not None and self._clock() < pair.refresh_at:
            return pair.auth_token
        with self._lock:
            pair = self._pair  # another thread may have renewed it while this one waited
            if pair is None:
                return self._login().auth_token
            if self._clock() < pair.refresh_at:
                return pair.auth_token
            return self._refresh(pair).auth_token

    def expired(self, stale: str) -> str:
        """The service answered 401 Expired Token to `stale`: a renewed authToken."""
        with self._lock:
            pair = self._pair
            if pair is None:
                return self._login().auth_token
            if pair.auth_token != stale:  # renewed by another thread meanwhile
                return pair.auth_token
            return self._refresh(pair).auth_token

    def refresh(self) -> None:
        """Renew the pair now (the next call uses the new authToken)."""
        with self._lock:
            if self._pair is None:
                self._login()
            else:
                self._refresh(self._pair)

    def _login(self) -> Pair:
        if self._username is None or self._password is None:
            raise Unauthorized(401, "No token pair and no password to log in with")
        answer = self._post(
            "/v1/auth", {"username": self._username, "password": self._password}, ""
        )
        self.logins += 1
        self._pair = self._pair_from(answer)
        log.debug("logged in as user %s", self._pair.userid)
        return self._pair

    def _refresh(self, pair: Pair) -> Pair:
        try:
            answer = self._post(
                "/v1/auth/refresh", {"refresh_token": pair.refresh_token}, pair.auth_token
            )
        except Unauthorized as refused:
            if self._password is None:
                raise RefreshRejected(refused.status, refused.error, refused.body) from None
            log.warning("refresh refused (%s); logging in again", refused.error)
            self._pair = None
            try:
                return self._login()
            except Unauthorized as failed:
                raise RefreshRejected(failed.status, failed.error, failed.body) from None
        self.refreshes += 1
        self._pair = self._pair_from(answer)
        return self._pair

    def _pair_from(self, answer: dict[str, Any]) -> Pair:
        lifetime = token_lifetime(answer["authToken"])
        if lifetime is None:
            refresh_at = float("inf")  # unknown lifetime: renew only when the service says so
        else:
            refresh_at = self._clock() + lifetime - min(MAX_MARGIN, lifetime / 2)
        return Pair(answer.get("userid"), answer["authToken"], answer["refreshToken"], refresh_at)
