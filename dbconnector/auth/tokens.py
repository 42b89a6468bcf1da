"""authTokens and refreshTokens: signed JWTs (HS256, key derived from the service secret).

An authToken (type "access") lives 180 s or the user's TTL; a refreshToken (type "refresh") lives
DBCONNECTOR_REFRESH_TTL (900 s) and names the authToken it was issued with (`ajti`). Refreshing
needs that authToken (expired or not) in the Authorization header, and consumes the refresh token's
row in the metadata database, so each refresh token works once on every instance. Presenting a
spent refresh token again means a copy exists: every token of that user is revoked (the caller
commits the revocation, then answers 401 Bad Token). Both tokens carry the user's token
generation (`gen`); revocation raises it, so older authTokens stop verifying (auth/guard.py).

Tokens are signed with the current secret's key and name it in their header (`kid`); a token
signed with a previous secret (DBCONNECTOR_PREVIOUS_SECRET_KEYS) verifies until it expires, and a
token without a kid (issued before key ids) verifies with the current key.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from flask import Flask, Request, current_app
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token
from jwt import ExpiredSignatureError, PyJWTError
from jwt.utils import base64url_decode
from sqlalchemy import Connection

from ..errors import BAD_TOKEN, EXPIRED_TOKEN, MISSING_TOKEN, Unauthorized
from ..lib.keys import KeyRing, jwt_key, key_id
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


class TokenKeys:
    """The key that signs new tokens, and the one that verifies a token, picked by its kid.

    A token's header segment is the same for every token signed with one key, so the key it
    maps to is remembered by that segment: verifying costs one dictionary lookup, not a parse.
    """

    MAX_HEADERS = 256

    def __init__(self, ring: KeyRing) -> None:
        self.kid = key_id(ring.current)
        self.signing_key = jwt_key(ring.current)
        self._by_kid = ring.jwt_keys()
        self._by_header: dict[str, str] = {}

    def for_token(self, token: str) -> str:
        """The verification key of `token`; Unauthorized(BAD_TOKEN) if its key is not listed."""
        header = token.partition(".")[0]
        key = self._by_header.get(header)
        if key is None:
            key = self._from_header(header)
            if len(self._by_header) < self.MAX_HEADERS:
                self._by_header[header] = key
        return key

    def _from_header(self, header: str) -> str:
        try:
            fields = json.loads(base64url_decode(header))
        except (ValueError, RecursionError):
            raise Unauthorized(BAD_TOKEN) from None
        if not isinstance(fields, dict):
            raise Unauthorized(BAD_TOKEN)
        kid = fields.get("kid")
        if kid is None:
            return self.signing_key
        key = self._by_kid.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthorized(BAD_TOKEN)
        return key


def init_app(app: Flask, ring: KeyRing) -> None:
    keys = TokenKeys(ring)
    app.extensions["dbconnector.token_keys"] = keys
    app.config.update(
        JWT_SECRET_KEY=keys.signing_key,
        JWT_ALGORITHM="HS256",
        JWT_TOKEN_LOCATION=["headers"],
        JWT_HEADER_TYPE="Bearer",
        JWT_ERROR_MESSAGE_KEY="error",
        JWT_COOKIE_CSRF_PROTECT=False,
    )
    # flask-jwt-extended signs (create_*_token) with the current key's kid in the header; no
    # request reaches its verifying decorators, so none of its error loaders are registered:
    # VerifiedTokens raises our own Unauthorized.
    jwt = JWTManager(app)
    jwt.additional_headers_loader(lambda _identity: {"kid": keys.kid})


@dataclass(frozen=True)
class Pair:
    """A token pair recorded in the metadata database and not yet signed."""

    user_id: int
    access_ttl: int
    refresh_ttl: int
    access_jti: str
    refresh_jti: str
    generation: int

    def signed(self) -> dict[str, Any]:
        """The response body. Signing needs no database, so callers do it after the commit,
        outside the (on SQLite, serialised) write transaction."""
        identity = str(self.user_id)
        access = create_access_token(
            identity=identity,
            expires_delta=dt.timedelta(seconds=self.access_ttl),
            additional_claims={"jti": self.access_jti, "gen": self.generation},
        )
        refresh = create_refresh_token(
            identity=identity,
            expires_delta=dt.timedelta(seconds=self.refresh_ttl),
            additional_claims={
                "jti": self.refresh_jti,
                "ajti": self.access_jti,
                "gen": self.generation,
            },
        )
        return {"userid": self.user_id, "authToken": access, "refreshToken": refresh}


def record_pair(conn: Connection, user: User, default_ttl: int, refresh_ttl: int) -> Pair:
    """A new token pair for `user`, its refresh token recorded as live."""
    pair = Pair(
        user.id,
        parse_ttl(user.ttl) or default_ttl,
        refresh_ttl,
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        user.token_generation,
    )
    expires = utcnow() + dt.timedelta(seconds=refresh_ttl)
    refresh_tokens.add(conn, pair.refresh_jti, user.id, pair.access_jti, expires)
    return pair


def bearer_token(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    if not header.strip():
        raise Unauthorized(MISSING_TOKEN)
    parts = header.split()
    if len(parts) != 2 or parts[0].rstrip(":").lower() != "bearer":
        raise Unauthorized(BAD_TOKEN)
    return parts[1]


class VerifiedTokens:
    """Access tokens already verified, until they expire.

    A client reuses one authToken for up to its whole lifetime, and checking the signature was a
    quarter of a small select's CPU. The key is the whole token, signature included, so a
    cached entry is exactly as valid as re-verifying it; expiry is still checked on every use.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._claims: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def verify(self, token: str) -> dict[str, Any]:
        claims = self._claims.get(token)
        if claims is None:
            claims = _decode(token, allow_expired=False)
            if claims.get("type") != "access":
                raise Unauthorized(BAD_TOKEN)
            with self._lock:
                if len(self._claims) >= self.max_entries:
                    self._claims.clear()
                self._claims[token] = claims
        elif claims["exp"] <= time.time():
            raise Unauthorized(EXPIRED_TOKEN)
        return claims


@dataclass(frozen=True)
class RefreshClaim:
    """A refresh token checked against its authToken: what redeem() consumes."""

    user_id: int
    jti: str
    access_jti: str

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
    """Verify both tokens and that they belong together (no database). Unauthorized otherwise."""
    access = _decode(auth_token, allow_expired=True)
    refresh = _decode(refresh_token, allow_expired=False)
    if access.get("type") != "access" or refresh.get("type") != "refresh":
        raise Unauthorized(BAD_TOKEN)
    if refresh.get("ajti") != access.get("jti") or refresh.get("sub") != access.get("sub"):
        raise Unauthorized(BAD_TOKEN)
    try:
        user_id = int(refresh["sub"])
    except (KeyError, TypeError, ValueError):
        raise Unauthorized(BAD_TOKEN) from None
    return RefreshClaim(user_id, str(refresh.get("jti")), str(access["jti"]))


# Every token this service signs carries these; one without them is not ours.
_REQUIRED = ["exp", "iat", "sub", "jti", "type"]


def _decode(token: str, allow_expired: bool) -> dict[str, Any]:
    """The claims of a token signed with one of this service's keys (HS256), else Unauthorized.

    PyJWT directly: flask-jwt-extended's decode_token parses a token three times (claims and
    header unverified, then verified), a tenth of a refresh's CPU. The checks are the ones it
    makes with this app's settings: signature, exp unless allowed expired, nbf and iat, and a
    string `sub`.
    """
    options = {"require": _REQUIRED, "verify_exp": not allow_expired}
    key = current_app.extensions["dbconnector.token_keys"].for_token(token)
    try:
        return jwt.decode(token, key, algorithms=["HS256"], options=options)
    except ExpiredSignatureError:
        raise Unauthorized(EXPIRED_TOKEN) from None
    except (PyJWTError, ValueError, KeyError, TypeError):
        raise Unauthorized(BAD_TOKEN) from None
