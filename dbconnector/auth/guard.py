"""@requires(roles): the one decorator every authenticated endpoint wears.

In order: verify the bearer token (401 with the specification's exact bodies), load the caller's
current state (cached for DBCONNECTOR_CACHE_SECONDS), refuse a disabled user or a call from outside
the user's IP allowlist (403 {}), count the call against the user's flood limit, and refuse a role
without one of the endpoint's bits (403 {}).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Protocol, TypeVar

from flask import current_app, g, request
from sqlalchemy import Engine

from ..config import Settings
from ..errors import BAD_TOKEN, Forbidden, Unauthorized
from ..lib.roles import is_admin
from ..lib.ttl_cache import TTLCache
from ..store import users as user_store
from ..store.db import read
from .clientip import client_address, is_allowed
from .flood import FloodGuard
from .tokens import VerifiedTokens, bearer_token

F = TypeVar("F", bound=Callable[..., Any])


class Gate(Protocol):
    """What the guard reads from the app's services (app_state.Services), which sit above auth/
    and so are not imported here."""

    settings: Settings
    engine: Engine
    tokens: VerifiedTokens
    flood: FloodGuard
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


def authenticate() -> Principal:
    claims = services().tokens.verify(bearer_token(request))
    try:
        user_id = int(claims["sub"])
    except (KeyError, TypeError, ValueError):
        raise Unauthorized(BAD_TOKEN) from None
    principal = load_principal(user_id)
    generation = claims.get("gen", 0)
    # A token newer than the cached state was issued after it was cached (a login after a
    # revocation elsewhere), or for a user created since under the same id: the cache is out of
    # date, not the token.
    if principal is not None and (
        generation > principal.token_generation or claims.get("stm") != principal.token_stamp
    ):
        services().principals.invalidate(lambda key: key == user_id)
        principal = load_principal(user_id)
    # An older one was revoked: refused at once by every worker of the instance that revoked it,
    # and by other instances once their cache entry (at most DBCONNECTOR_CACHE_SECONDS old) goes.
    # A token of another user (a deleted one whose id came back) never matches the stamp.
    if principal is not None and (
        generation != principal.token_generation or claims.get("stm") != principal.token_stamp
    ):
        raise Unauthorized(BAD_TOKEN)
    principal = check_standing(principal)
    g.principal = principal
    return principal


def current() -> Principal:
    return g.principal


def requires(allowed: int) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate()
            services().flood.check_user(principal.id)
            if not principal.role & allowed:
                raise Forbidden(f"user {principal.id} (role {principal.role}) lacks {allowed}")
            return view(*args, **kwargs)

        guarded.dbc_roles = int(allowed)  # type: ignore[attr-defined]  # read by the OpenAPI builder
        return guarded  # type: ignore[return-value]

    return decorate
