"""authTokens and refreshTokens: signed JWTs (HS256, key derived from the service secret).

An authToken (type "access") lives 180 s or the user's TTL; a refreshToken (type "refresh") lives
DBCONNECTOR_REFRESH_TTL (900 s) and names the authToken it was issued with (`ajti`). Refreshing
needs that authToken (expired or not) in the Authorization header, and consumes the refresh token's
row in the metadata database, so each refresh token works once on every instance. Presenting a
spent refresh token again means a copy exists: every token of that user is revoked (the caller
commits the revocation, then answers 401 Bad Token). Both tokens carry the user's token
generation (`gen`); revocation raises it, so older authTokens stop verifying (auth/guard.py).
They also carry the user's token stamp (`stm`), random per user, so a token never authenticates
as another user that holds the same id.

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
from jwt import ExpiredSignatureError, PyJWTError
from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_decode
from sqlalchemy import Connection

from ..errors import BAD_TOKEN, EXPIRED_TOKEN, MISSING_TOKEN, Unauthorized
from ..lib.keys import KeyRing, jwt_key, key_id
from ..store import refresh_tokens
from ..store.db import utcnow
from ..store.users import User

_REGISTER = threading.Lock()
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


class _KeyCheckedOnce(HMACAlgorithm):
    """HS256 that checks a key (not empty, not a PEM, SSH or DER key) once, not on every token:
    PyJWT parses the key each of those ways on every sign and verify (bench/README.md), and a
    refresh signs two tokens and verifies two."""

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)
        self._checked: dict[str | bytes, bytes] = {}
        self.registered = False

    def prepare_key(self, key: str | bytes) -> bytes:
        prepared = self._checked.get(key)
        if prepared is None:
            prepared = super().prepare_key(key)  # raises for a key it refuses: never kept
            if len(self._checked) < 16:
                self._checked[key] = prepared
        return prepared


_HS256 = _KeyCheckedOnce()


def init_app(app: Flask, ring: KeyRing) -> None:
    """Tokens sign with the key ring's current key and verify with whichever listed key their
    kid names; both through PyJWT, without flask-jwt-extended's per-call config lookups and
    repeated parsing (bench/README.md)."""
    with _REGISTER:  # PyJWT's algorithms are process-wide; apps in one process share this one
        if not _HS256.registered:
            jwt.unregister_algorithm("HS256")
            jwt.register_algorithm("HS256", _HS256)
            _HS256.registered = True
    app.extensions["dbconnector.token_keys"] = TokenKeys(ring)


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
        outside the (on SQLite, serialised) write transaction.

        The claims are the ones flask-jwt-extended's create_access_token and
        create_refresh_token gave before, signed with PyJWT directly, with the current key's kid
        in the header."""
        now = int(time.time())
        common = {"fresh": False, "iat": now, "nbf": now, "sub": str(self.user_id)}
        common["stm"] = self.stamp
        access = {**common, "type": "access", "jti": self.access_jti, "gen": self.generation}
        access["exp"] = now + self.access_ttl
        refresh = {**common, "type": "refresh", "jti": self.refresh_jti, "ajti": self.access_jti}
        refresh.update(gen=self.generation, exp=now + self.refresh_ttl)
        keys = current_app.extensions["dbconnector.token_keys"]
        header = {"kid": keys.kid}
        return {
            "userid": self.user_id,
            "authToken": jwt.encode(access, keys.signing_key, algorithm="HS256", headers=header),
            "refreshToken": jwt.encode(
                refresh, keys.signing_key, algorithm="HS256", headers=header
            ),
        }


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

    A client reuses one authToken for up to its whole lifetime, and checking the signature costs
    more than a small select's own work (bench/README.md). The key is the whole token, signature
    included, so a
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
    """Verify both tokens and that they belong together (no database). Unauthorized otherwise."""
    access = _decode(auth_token, allow_expired=True)
    refresh = _decode(refresh_token, allow_expired=False)
    if access.get("type") != "access" or refresh.get("type") != "refresh":
        raise Unauthorized(BAD_TOKEN)
    if refresh.get("ajti") != access.get("jti") or refresh.get("sub") != access.get("sub"):
        raise Unauthorized(BAD_TOKEN)
    try:
        user_id = int(refresh["sub"])
        generation = int(refresh.get("gen", 0))
    except (KeyError, TypeError, ValueError):
        raise Unauthorized(BAD_TOKEN) from None
    stamp = refresh.get("stm")
    if not isinstance(stamp, str) or stamp != access.get("stm"):
        raise Unauthorized(BAD_TOKEN)
    return RefreshClaim(user_id, str(refresh.get("jti")), str(access["jti"]), generation, stamp)


# Every token this service signs carries these; one without them is not ours.
_REQUIRED = ["exp", "iat", "sub", "jti", "type"]


def _decode(token: str, allow_expired: bool) -> dict[str, Any]:
    """The claims of a token signed with one of this service's keys (HS256), else Unauthorized.

    PyJWT directly: flask-jwt-extended's decode_token parses a token three times (claims and
    header unverified, then verified). The checks are the ones it
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
