"""flask-jwt-extended's JWTManager, set up for this service: its loaders carry our keys,
revocation, cached users and the specification's 401 bodies.

- encode_key_loader and additional_headers_loader: tokens are signed (HS256) with the key ring's
  current key and name it in their header (`kid`);
- decode_key_loader: a token verifies with the key its kid names, the current one or a previous
  one still accepted (DBCONNECTOR_PREVIOUS_SECRET_KEYS) while a rotation runs; a token without a
  kid (issued before key ids) with the current key. A token lacking a claim every token of ours
  carries, or naming an unknown kid, gets no key and is a Bad Token;
- token_in_blocklist_loader: a token of another token generation (`gen`) than its user's was
  revoked (store/refresh_tokens.revoke_all), and one of another token stamp (`stm`) was issued to
  another user that held the same id;
- user_lookup_loader: the caller's cached state (auth/guard.Principal); a deleted user is a Bad
  Token;
- the error loaders: {"error": "Missing Authentication Token" | "Expired Token" | "Bad Token"}.

The manager itself remembers the authTokens it has verified (CachingJWTManager).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import jwt
from flask import Flask, request
from flask_jwt_extended import JWTManager
from jwt.algorithms import HMACAlgorithm

from ..errors import BAD_TOKEN, EXPIRED_TOKEN, MISSING_TOKEN
from ..lib.keys import KeyRing, jwt_key, key_id
from .guard import Principal, token_principal

# Every token this service signs carries these; one without them is not ours.
REQUIRED_CLAIMS = ("exp", "iat", "sub", "jti", "type")

_REGISTER = threading.Lock()


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


class CachingJWTManager(JWTManager):
    """A JWTManager that decodes an authToken it has verified before with one dictionary lookup.

    A client reuses one authToken for up to its whole lifetime, and the manager's decode (two
    parses and a signature check) costs more than a small select's own work (bench/README.md).
    The key is the whole token,
    signature included, so a hit is exactly as valid as decoding it again; expiry is still
    checked on every use, and everything after the decode (revocation, user lookup, the error
    loaders) runs as for any token. `_decode_jwt_from_config` is the one decode both
    verify_jwt_in_request and decode_token go through.
    """

    MAX_ENTRIES = 10_000

    def __init__(self, app: Flask) -> None:
        self._verified: dict[str, dict[str, Any]] = {}
        self._verified_lock = threading.Lock()
        super().__init__(app)

    def _decode_jwt_from_config(
        self, encoded_token: str, csrf_value: Any = None, allow_expired: bool = False
    ) -> dict:
        claims = self._verified.get(encoded_token)
        if claims is None or allow_expired:
            claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
            if not allow_expired and claims["type"] == "access":
                with self._verified_lock:
                    if len(self._verified) >= self.MAX_ENTRIES:
                        self._verified.clear()
                    self._verified[encoded_token] = claims
        elif claims["exp"] <= time.time():
            expired = jwt.ExpiredSignatureError("Signature has expired")
            expired.jwt_header = jwt.get_unverified_header(encoded_token)  # type: ignore[attr-defined]
            expired.jwt_data = claims  # type: ignore[attr-defined]
            raise expired
        return claims


def _register_hs256() -> None:
    with _REGISTER:  # PyJWT's algorithms are process-wide; apps in one process share this one
        if not _HS256.registered:
            jwt.unregister_algorithm("HS256")
            jwt.register_algorithm("HS256", _HS256)
            _HS256.registered = True


def _error(message: str) -> tuple[dict[str, str], int]:
    return {"error": message}, 401


def _missing_or_bad(_reason: str) -> tuple[dict[str, str], int]:
    """No Authorization header is a missing token; one that is not `Bearer <token>` a bad one."""
    present = request.headers.get("Authorization", "").strip()
    return _error(BAD_TOKEN if present else MISSING_TOKEN)


def init_app(app: Flask, ring: KeyRing, access_ttl: int, refresh_ttl: int) -> JWTManager:
    """The app's JWTManager: tokens in the Authorization header only, HS256 only."""
    _register_hs256()
    app.config.update(
        JWT_ALGORITHM="HS256",
        JWT_DECODE_ALGORITHMS=["HS256"],
        JWT_TOKEN_LOCATION=["headers"],
        JWT_HEADER_TYPE="Bearer",
        JWT_COOKIE_CSRF_PROTECT=False,
        JWT_ACCESS_TOKEN_EXPIRES=dt.timedelta(seconds=access_ttl),
        JWT_REFRESH_TOKEN_EXPIRES=dt.timedelta(seconds=refresh_ttl),
    )
    manager = CachingJWTManager(app)
    signing_key, kid = jwt_key(ring.current), key_id(ring.current)
    by_kid = ring.jwt_keys()

    @manager.encode_key_loader
    def _signing_key(_identity: Any) -> str:
        return signing_key

    @manager.additional_headers_loader
    def _kid_header(_identity: Any) -> dict[str, str]:
        return {"kid": kid}

    @manager.decode_key_loader
    def _verification_key(header: dict[str, Any], claims: dict[str, Any]) -> str:
        if any(name not in claims for name in REQUIRED_CLAIMS):
            raise jwt.MissingRequiredClaimError("a claim every token of ours carries")
        name = header.get("kid")
        if name is None:
            return signing_key
        key = by_kid.get(name) if isinstance(name, str) else None
        if key is None:
            raise jwt.InvalidTokenError("a key id not in the key ring")
        return key

    @manager.token_in_blocklist_loader
    def _revoked(_header: dict[str, Any], claims: dict[str, Any]) -> bool:
        principal = token_principal(claims)
        return principal is not None and (
            claims.get("gen", 0) != principal.token_generation
            or claims.get("stm") != principal.token_stamp
        )

    @manager.user_lookup_loader
    def _principal(_header: dict[str, Any], claims: dict[str, Any]) -> Principal | None:
        return token_principal(claims)

    manager.unauthorized_loader(_missing_or_bad)
    manager.invalid_token_loader(lambda _reason: _error(BAD_TOKEN))
    manager.expired_token_loader(lambda _header, _claims: _error(EXPIRED_TOKEN))
    manager.revoked_token_loader(lambda _header, _claims: _error(BAD_TOKEN))
    manager.user_lookup_error_loader(lambda _header, _claims: _error(BAD_TOKEN))
    manager.token_verification_failed_loader(lambda _header, _claims: _error(BAD_TOKEN))
    manager.needs_fresh_token_loader(lambda _header, _claims: _error(BAD_TOKEN))
    return manager
