"""@requires(roles): the one decorator every authenticated endpoint wears.

In order: verify the bearer token and load the caller's current state (cached for
DBCONNECTOR_CACHE_SECONDS) through flask-jwt-extended's verify_jwt_in_request and the loaders of
auth/token_manager.py (401 with the specification's exact bodies), refuse a disabled user or a call
from outside the user's IP allowlist (403 {}), count the call against the user's flood limit
(Flask-Limiter, auth/limiter.py), and refuse a role without one of the endpoint's bits (403 {}).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Protocol, TypeVar

from flask import current_app, g
from flask_jwt_extended import get_current_user, verify_jwt_in_request
from sqlalchemy import Engine

from ..config import Settings
from ..errors import BAD_TOKEN, Forbidden, Unauthorized
from ..lib.roles import is_admin
from ..lib.ttl_cache import TTLCache
from ..store import users as user_store
from ..store.db import read
from .clientip import client_address, is_allowed
from .limiter import Flood

F = TypeVar("F", bound=Callable[..., Any])


class Gate(Protocol):
    """What the guard reads from the app's services (app_state.Services), which sit above auth/
    and so are not imported here."""

    settings: Settings
    engine: Engine
    flood: Flood
    principals: TTLCache[Any]

    def catch_up(self) -> None: ...


def services() -> Gate:
    return current_app.extensions["dbconnector"]  # app_state.EXTENSION, which imports auth/


@dataclass(frozen=True)
class Principal:
    id: int
    username: str
    role: int
    enabled: bool
    ipaddresses: str
    # Tokens of an older generation were revoked (store/refresh_tokens.revoke_all).
    token_generation: int = 0
    ttl: str = ""  # the user's authToken lifetime, for a refresh
    # Tokens carry it (`stm`): a token binds to this user, not only to its id.
    token_stamp: str = ""

    @property
    def admin(self) -> bool:
        return is_admin(self.role)


def principal_of(user: user_store.User) -> Principal:
    return Principal(
        user.id,
        user.username,
        user.role,
        user.enabled,
        user.ipaddresses,
        user.token_generation,
        user.ttl,
        user.token_stamp,
    )


def needs(principal: Principal, allowed: int, what: str) -> None:
    """403 unless `principal` now holds one of `allowed`'s bits (for checks after the call's own,
    e.g. when a job starts)."""
    if not principal.role & allowed:
        raise Forbidden(f"user {principal.id} (role {principal.role}) may not {what}")


def load_principal(user_id: int) -> Principal | None:
    svc = services()
    svc.catch_up()

    def load() -> Principal | None:
        with read(svc.engine) as conn:
            user = user_store.get(conn, user_id)
        if user is None:
            return None
        return principal_of(user)

    return svc.principals.get(user_id, load)


def check_standing(principal: Principal | None) -> Principal:
    """The caller still exists, is enabled and calls from an allowed address."""
    if principal is None:
        raise Unauthorized(BAD_TOKEN)
    if not principal.enabled:
        raise Forbidden(f"user {principal.id} is disabled")
    if not is_allowed(client_address(), principal.ipaddresses):
        raise Forbidden(f"user {principal.id} called from an address outside its allowlist")
    return principal


def token_principal(claims: dict[str, Any]) -> Principal | None:
    """The cached state of the user a verified token names (None if deleted), read once per
    request for the manager's revocation check and user lookup."""
    if "token_principal" in g:
        return g.token_principal
    try:
        user_id = int(claims["sub"])
    except (KeyError, TypeError, ValueError):
        raise Unauthorized(BAD_TOKEN) from None
    principal = load_principal(user_id)
    # A token newer than the cached state was issued after it was cached (a login after a
    # revocation elsewhere), or for a user created since under the same id: the cache is out of
    # date, not the token. An older one was revoked, and a token of another user (a deleted one
    # whose id came back) never matches the stamp: refused by the manager's revocation check
    # (auth/token_manager.py), at once on every worker of the instance that revoked it, and on
    # other instances once their cache entry (at most DBCONNECTOR_CACHE_SECONDS old) goes.
    if principal is not None and (
        claims.get("gen", 0) > principal.token_generation
        or claims.get("stm") != principal.token_stamp
    ):
        services().principals.invalidate(lambda key: key == user_id)
        principal = load_principal(user_id)
    g.token_principal = principal
    return principal


def authenticate() -> Principal:
    verify_jwt_in_request()
    principal = check_standing(get_current_user())
    g.principal = principal
    return principal


def current() -> Principal:
    return g.principal


def requires(allowed: int) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def permitted(*args: Any, **kwargs: Any) -> Any:
            principal = current()
            if not principal.role & allowed:
                raise Forbidden(f"user {principal.id} (role {principal.role}) lacks {allowed}")
            return view(*args, **kwargs)

        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            authenticate()
            # The app's Flask-Limiter per-user limit around `permitted` (auth/limiter.py): it
            # counts the call, or raises RateLimitExceeded, before the role check.
            return services().flood.counted[permitted](*args, **kwargs)

        guarded.dbc_roles = int(allowed)  # type: ignore[attr-defined]  # read by the OpenAPI builder
        guarded.dbc_permitted = permitted  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate
