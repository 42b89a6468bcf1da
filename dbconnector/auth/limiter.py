"""Flood control on Flask-Limiter: one `Limiter` per app, sliding-window counters.

- per user on authenticated calls (DBCONNECTOR_RATELIMIT): `per_user`, a limit keyed on the
  authenticated user, decorating the inner function of each @requires view (auth/guard.py),
  which is called once the token is verified;
- per client address on /v1/auth and /v1/auth/refresh together, and per username on /v1/auth
  (DBCONNECTOR_AUTH_RATELIMIT): shared limits wrapped around the views that name them in
  @responds(flood=...) (api/responses.py);
- the console's sign-in form and pages count against the same limits through `check_auth` and
  `check_user` (functions under the same shared limits, called from inside the request).

A breach is answered through the Limiter's on_breach hook as the specification says: HTTP 200
(DBCONNECTOR_FLOOD_STATUS) {"error": "No Data"} with Retry-After; web/error_handlers.py hands that
response out. Counts live in DBCONNECTOR_RATELIMIT_STORAGE_URL, which Flask-Limiter opens by its
scheme: shm:// (the default, the data dir's flood.shm shared by every worker of the instance,
auth/shm_storage.py), memory:// (one process) or redis:// (every instance). If a shared storage
fails, the Limiter's in-memory fallback counts in the process until the storage answers again
(it probes it with a growing back-off), so limits still hold, per process, and the service keeps
serving; the switch and the return are logged once each.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from flask_limiter import Limiter, RequestLimit, RouteLimit

from ..config import Settings
from ..errors import FLOOD
from ..telemetry.metrics import count_flood_refusal
from . import shm_storage
from .clientip import client_address

# A Redis that stops answering must cost a call at most this long, not hang it.
_REDIS_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


def storage_options(storage_url: str, data_dir: Path) -> dict[str, Any]:
    """What the storage of `storage_url`'s scheme is opened with."""
    if storage_url.startswith(shm_storage.SCHEME):
        return {"data_dir": str(data_dir)}
    if storage_url.startswith("memory://"):
        return {}
    return dict(_REDIS_OPTIONS)


def answer_breach(breached: RequestLimit) -> Response:
    """The specification's answer to a flood, with the seconds until the window admits again."""
    count_flood_refusal()
    try:
        retry_after = max(1, math.ceil(breached.window.reset_time - time.time()))
    except Exception:  # the storage failed between the hit and this question
        retry_after = breached.limit.get_expiry()
    response = jsonify({"error": FLOOD})
    response.status_code = current_app.config["DBC_SETTINGS"].flood_status
    response.headers["Retry-After"] = str(retry_after)
    return response


def _user_key() -> str:
    return str(g.principal.id)


def _login_username() -> str:
    """The username a sign-in names: in /v1/auth's JSON body or the console's form."""
    body = request.get_json(force=True, silent=True)
    fields = body if isinstance(body, dict) else request.form
    username = fields.get("username")
    return username.lower() if isinstance(username, str) else ""


def _sign_in_attempt() -> None:
    """A password sign-in other than /v1/auth's (the console's form); check_auth counts it."""


def _signed_in_call() -> None:
    """A signed-in call other than a @requires view's (a console page); check_user counts it."""


@dataclass(frozen=True)
class Flood:
    limiter: Limiter
    per_user: RouteLimit
    # name in @responds(flood=...) -> the limit it stands for
    by_name: dict[str, RouteLimit]
    # a @requires view's inner function (and the two below) -> it, counted by its limits
    counted: dict[Callable[..., Any], Callable[..., Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.counted[_sign_in_attempt] = self.limited(_sign_in_attempt, ("address", "username"))
        self.counted[_signed_in_call] = self.per_user(_signed_in_call)

    def limited(self, function: Callable[..., Any], names: tuple[str, ...]) -> Callable[..., Any]:
        """`function` wrapped in the limits `names` stand for."""
        for name in names:
            function = self.by_name[name](function)
        return function

    def limit_views(self, app: Flask) -> None:
        """Put the app's registered views under their limits: each view naming limits in
        `dbc_flood` wrapped in them, each @requires view's inner function in per_user."""
        for endpoint, view in list(app.view_functions.items()):
            permitted = getattr(view, "dbc_permitted", None)
            if permitted is not None:
                self.counted[permitted] = self.per_user(permitted)
            app.view_functions[endpoint] = self.limited(view, getattr(view, "dbc_flood", ()))

    def check_auth(self) -> None:
        """Count this request, a sign-in by the username its form names, against the address's
        and the username's limits, the counts /v1/auth spends; RateLimitExceeded past either."""
        self.counted[_sign_in_attempt]()

    def check_user(self) -> None:
        """Count this request against the per-user limit of its caller (g.principal), the count
        the REST API spends; RateLimitExceeded past it."""
        self.counted[_signed_in_call]()

    @property
    def degraded(self) -> bool:
        """Whether the Limiter counts in its in-memory fallback, its storage having failed."""
        return self.limiter.limiter.storage is not self.limiter.storage


def init_app(app: Flask, settings: Settings) -> Flood:
    url = settings.ratelimit_storage_url
    limiter = Limiter(
        client_address,
        app=app,
        strategy="sliding-window-counter",
        storage_uri=url,
        storage_options=storage_options(url, settings.data_dir),
        in_memory_fallback_enabled=not url.startswith("memory://"),
        key_prefix="dbc",
        on_breach=answer_breach,
    )
    return Flood(
        limiter,
        per_user=limiter.shared_limit(settings.ratelimit, scope="user", key_func=_user_key),
        by_name={
            "address": limiter.shared_limit(settings.auth_ratelimit, scope="auth-ip"),
            "username": limiter.shared_limit(
                settings.auth_ratelimit,
                scope="auth-user",
                key_func=_login_username,
                exempt_when=lambda: not _login_username(),
            ),
        },
    )
