"""POST /v1/auth and POST /v1/auth/refresh."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from ..auth import login as login_checks
from ..auth import tokens
from ..auth.guard import Principal, check_standing, load_principal
from ..errors import BAD_TOKEN, Forbidden, Unauthorized
from ..store import users as user_store
from ..store.db import write
from .body import request_body
from .common import services
from .responses import TOKENS, responds
from .schemas import AuthRequest, RefreshRequest, load

bp = Blueprint("auth", __name__)

# Built once: a marshmallow schema holds no per-call state, and building one per call
# was a tenth of a refresh.
_AUTH_REQUEST, _REFRESH_REQUEST = AuthRequest(), RefreshRequest()


@responds(TOKENS, flood=("address", "username"))
@bp.post("/v1/auth")
def login() -> tuple[dict[str, Any], int]:
    """Authenticate with username and password; returns an authToken and a refreshToken."""
    svc = services()
    body = request_body(request, "Missing authentication payload")
    data = load(_AUTH_REQUEST, body)
    user = login_checks.check_password(data["username"], data["password"])
    new_hash = login_checks.rehashed(user, data["password"])
    with write(svc.engine) as conn:
        if new_hash:
            user_store.set_password_hash(conn, user.id, new_hash)
        pair = tokens.record_pair(conn, user, svc.settings.access_ttl, svc.settings.refresh_ttl)
    return pair.signed(), 200


login.dbc_schema = (AuthRequest, "json")  # type: ignore[attr-defined]


@responds(TOKENS, flood=("address",))
@bp.post("/v1/auth/refresh")
def refresh() -> tuple[dict[str, Any], int]:
    """Trade a refreshToken (and its authToken, expired or not) for a new pair; works once."""
    svc = services()
    auth_token = tokens.presented_auth_token(request)
    body = request_body(request, "Missing refresh token")
    refresh_token = body.get("refresh_token")
    if type(refresh_token) is not str:  # the schema says what is wrong; a string is all it checks
        refresh_token = load(_REFRESH_REQUEST, body)["refresh_token"]
    claim = tokens.check_refresh(auth_token, refresh_token)
    # Only the compare-and-set and the insert run in the write transaction (on SQLite, one lock
    # for all workers). The user's state is the cached one every call is checked against: what
    # must stop a refresh (a revocation, a disable, a new password, a deletion) deletes the
    # user's unspent refresh tokens in its own transaction, so the compare-and-set then fails,
    # and a token that can be redeemed still carries the user's current generation.
    principal = load_principal(claim.user_id)
    if principal is None or principal.token_stamp != claim.stamp:
        raise Unauthorized(BAD_TOKEN)
    refused = _standing_refusal(principal)
    pair = tokens.new_pair(
        principal.id,
        principal.ttl,
        claim.generation,
        svc.settings.access_ttl,
        svc.settings.refresh_ttl,
        claim.stamp,
    )
    with write(svc.engine) as conn:
        redeemed = claim.redeem(conn)
        if redeemed:
            if refused is not None:  # the token stays unspent, as the rollback leaves it
                raise refused
            tokens.record(conn, pair)
    if not redeemed:
        # Committed: on a reuse, the revocation is, and this instance's workers forget the user.
        svc.forget_user(claim.user_id)
        raise Unauthorized(BAD_TOKEN)
    return pair.signed(), 200  # signed here, outside the transaction and its write lock


refresh.dbc_schema = (RefreshRequest, "json")  # type: ignore[attr-defined]


def _standing_refusal(principal: Principal) -> Forbidden | None:
    """What check_standing would raise for the user, if anything."""
    try:
        check_standing(principal)
    except Forbidden as refused:
        return refused
    return None
