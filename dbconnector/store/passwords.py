"""bcrypt password hashes.

bcrypt reads at most 72 bytes (and bcrypt>=5 refuses longer input), so every password is first
reduced to a fixed-length SHA-256 digest in base64: long passphrases keep all their strength and
no NUL byte ever reaches bcrypt. Unknown users are checked against a dummy hash of the same cost,
so a wrong password and an unknown user take the same time.

The cost is DBCONNECTOR_BCRYPT_ROUNDS; a hash of another cost still verifies (the cost is part of
the hash) and is replaced by one of the configured cost at the user's next login.
"""

from __future__ import annotations

import base64
import hashlib
import threading

import bcrypt

from ..errors import BadRequest

PASSWORD_MAX = 1024


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_password(password: str, rounds: int = 12) -> str:
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode("ascii")


def new_password_hash(password: str, rounds: int, min_length: int) -> str:
    """The hash of a new or changed password, after the length rule
    (DBCONNECTOR_MIN_PASSWORD_LENGTH; PASSWORD_MAX bounds the work one request can ask of SHA-256).
    """
    if not min_length <= len(password) <= PASSWORD_MAX:
        raise BadRequest(f"password must be {min_length} to {PASSWORD_MAX} characters")
    return hash_password(password, rounds)


def needs_rehash(hashed: str, rounds: int) -> bool:
    """True when a stored hash ($2b$NN$...) has another cost than the configured one."""
    parts = hashed.split("$")
    return len(parts) < 4 or not parts[2].isdigit() or int(parts[2]) != rounds


def verify_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(_prehash(password), hashed.encode("ascii"))
    except ValueError:  # a malformed stored hash never authenticates
        return False


_dummy_lock = threading.Lock()
_dummy_hashes: dict[int, str] = {}


def burn_verify(password: str, rounds: int) -> None:
    """Spend the time of one verification when there is no user to verify against."""
    with _dummy_lock:
        dummy = _dummy_hashes.get(rounds)
        if dummy is None:
            dummy = _dummy_hashes[rounds] = hash_password("dbconnector-dummy", rounds)
    verify_password(password, dummy)
