"""authTokens and refreshTokens: JWTs made and checked by flask-jwt-extended (token_manager.py).

An authToken (type "access") lives 180 s or the user's TTL; a refreshToken (type "refresh") lives
DBCONNECTOR_REFRESH_TTL (900 s) and names the authToken it was issued with (`ajti`). Refreshing
needs that authToken (expired or not) in the Authorization header, and consumes the refresh token's
row in the metadata database, so each refresh token works once on every instance. Presenting a
spent refresh token again means a copy exists: every token of that user is revoked (the caller
commits the revocation, then answers 401 Bad Token). Both tokens carry the user's token
generation (`gen`); revocation raises it, so older authTokens stop verifying
(the manager's token_in_blocklist_loader). They also carry the user's token stamp (`stm`),
random per user, so a token never authenticates as another user that holds the same id.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Request
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from sqlalchemy import Connection

from ..errors import BAD_TOKEN, MISSING_TOKEN, Unauthorized
from ..store import refresh_tokens
from ..store.db import utcnow
from ..store.users import User

TTL_RE = re.compile(r"^\s*(\d+)\s*([sSmM]?)\s*$")
TTL_MAX_SECONDS = 600


def parse_ttl(text: str) -> int | None:
    """'90s' -> 90, '3m' -> 180, '' -> None (the default). ValueError outside 1 s to 10 m."""
    if not text or not text.strip():
        return None
    match = TTL_RE.match(text)
    if not match:
        raise ValueError("ttl must look like '90s' or '3m'")
    seconds = int(match.group(1)) * (60 if match.group(2).lower() == "m" else 1)
    if not 1 <= seconds <= TTL_MAX_SECONDS:
        raise ValueError("ttl must be between 1s and 10m (600s)")
    return seconds


@dataclass(frozen=True)
class Pair:
    """A token pair recorded in the metadata database and not yet signed."""

    user_id: int
    access_ttl: int
    refresh_ttl: int
    access_jti: str
    refresh_jti: str
    generation: int
    refresh_expires: dt.datetime
    stamp: str = ""

    def signed(self) -> dict[str, Any]:
        """The response body. Signing needs no database, so callers do it after the commit,
        outside the (on SQLite, serialised) write transaction."""
        identity = str(self.user_id)
        common = {"gen": self.generation, "stm": self.stamp}
        access = create_access_token(
            identity,
            expires_delta=dt.timedelta(seconds=self.access_ttl),
            additional_claims={**common, "jti": self.access_jti},
        )
        refresh = create_refresh_token(
            identity,
            expires_delta=dt.timedelta(seconds=self.refresh_ttl),
            additional_claims={**common, "jti": self.refresh_jti, "ajti": self.access_jti},
        )
        return {"userid": self.user_id, "authToken": access, "refreshToken": refresh}


def new_pair(
    user_id: int, ttl: str, generation: int, default_ttl: int, refresh_ttl: int, stamp: str = ""
) -> Pair:
    """A new token pair, not yet recorded (no database)."""
    return Pair(
        user_id,
        parse_ttl(ttl) or default_ttl,
        refresh_ttl,
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        generation,
        utcnow() + dt.timedelta(seconds=refresh_ttl),
        stamp,
    )


def record(conn: Connection, pair: Pair) -> None:
    """Record the pair's refresh token as live."""
    refresh_tokens.add(conn, pair.refresh_jti, pair.user_id, pair.access_jti, pair.refresh_expires)


def record_pair(conn: Connection, user: User, default_ttl: int, refresh_ttl: int) -> Pair:
    """A new token pair for `user`, its refresh token recorded as live."""
    pair = new_pair(
        user.id, user.ttl, user.token_generation, default_ttl, refresh_ttl, user.token_stamp
    )
    record(conn, pair)
    return pair


@dataclass(frozen=True)
class RefreshClaim:
    """A refresh token checked against its authToken: what redeem() consumes."""

    user_id: int
    jti: str
    access_jti: str
    # The user's token generation when the token was issued: its generation still, if it can be
    # redeemed, as a revocation deletes every unspent refresh token.
    generation: int = 0
    stamp: str = ""  # the user's token stamp at issue: a user created since has another

    def redeem(self, conn: Connection) -> bool:
        """Consume the refresh token: True. False when it was spent already (a reuse): then every
        token of the user is revoked, for the caller to commit. Unauthorized if unknown."""
        outcome = refresh_tokens.redeem(conn, self.jti, self.user_id, self.access_jti)
        if outcome is refresh_tokens.Redeemed.SPENT:
            refresh_tokens.revoke_all(conn, self.user_id)
            return False
        if outcome is not refresh_tokens.Redeemed.OK:
            raise Unauthorized(BAD_TOKEN)
        return True


def check_refresh(auth_token: str, refresh_token: str) -> RefreshClaim:
    """Verify both tokens (the authToken may have expired) and that they belong together (no
    database). Unauthorized otherwise; a bad or expired token raises the manager's errors."""
    access = decode_token(auth_token, allow_expired=True)
    refresh = decode_token(refresh_token)
    if access["type"] != "access" or refresh["type"] != "refresh":
        raise Unauthorized(BAD_TOKEN)
    if refresh.get("ajti") != access["jti"] or refresh["sub"] != access["sub"]:
        raise Unauthorized(BAD_TOKEN)
    try:
        user_id = int(refresh["sub"])
        generation = int(refresh.get("gen", 0))
    except (TypeError, ValueError):
        raise Unauthorized(BAD_TOKEN) from None
    stamp = refresh.get("stm")
    if not isinstance(stamp, str) or stamp != access.get("stm"):
        raise Unauthorized(BAD_TOKEN)
    return RefreshClaim(user_id, str(refresh["jti"]), str(access["jti"]), generation, stamp)


def presented_auth_token(request: Request) -> str:
    """The authToken of the Authorization header (werkzeug parses it), which /v1/auth/refresh
    takes expired or not, so not through verify_jwt_in_request."""
    if not request.headers.get("Authorization", "").strip():
        raise Unauthorized(MISSING_TOKEN)
    credentials = request.authorization
    if credentials is None or credentials.type != "bearer" or not credentials.token:
        raise Unauthorized(BAD_TOKEN)
    return credentials.token
