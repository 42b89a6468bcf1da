"""Signing in with a username and password: the checks /v1/auth and the console's sign-in share
(the flood count by address and username, the password, the account's standing, its allowlist)."""

from __future__ import annotations

import logging

from ..errors import Unauthorized
from ..store import users as user_store
from ..store.db import read, write
from ..store.passwords import burn_verify, hash_password, needs_rehash, verify_password
from ..store.users import User
from .clientip import client_address, is_allowed
from .guard import services

log = logging.getLogger(__name__)

INVALID_LOGIN = "Invalid username or password"


def count_attempt() -> None:
    """Count this sign-in request against the address's and the username's flood limits, which
    /v1/auth's own decorators count against too (auth/limiter.py)."""
    services().flood.check_auth()


def check_password(username: str, password: str) -> User:
    """The user, if the password is right, the account enabled and the caller's address on its
    allowlist; Unauthorized (the same answer for each) otherwise."""
    svc = services()
    with read(svc.engine) as conn:
        user = user_store.get_by_username(conn, username)
    # Same work, same answer for an unknown user and a wrong password: no user enumeration.
    if user is None:
        burn_verify(password, svc.settings.bcrypt_rounds)
        raise Unauthorized(INVALID_LOGIN)
    if not verify_password(password, user.password_hash):
        raise Unauthorized(INVALID_LOGIN)
    # A refused user with the right password answers as a wrong password does: a different
    # answer would confirm the password to whoever guessed it.
    if not user.enabled:
        log.info("401: login by disabled user %s", user.id)
        raise Unauthorized(INVALID_LOGIN)
    if not is_allowed(client_address(), user.ipaddresses):
        log.info("401: login by user %s from an address outside its allowlist", user.id)
        raise Unauthorized(INVALID_LOGIN)
    return user


def rehashed(user: User, password: str) -> str | None:
    """A new hash of the password when the stored one has another bcrypt cost
    (DBCONNECTOR_BCRYPT_ROUNDS changed), made while we know the password; None otherwise.
    Hashed outside any transaction, as bcrypt is slow by design."""
    rounds = services().settings.bcrypt_rounds
    return hash_password(password, rounds) if needs_rehash(user.password_hash, rounds) else None


def keep_rehash(user: User, password: str) -> None:
    """Store the rehash, if one is due, in its own transaction (the console's sign-in)."""
    new_hash = rehashed(user, password)
    if new_hash:
        with write(services().engine) as conn:
            user_store.set_password_hash(conn, user.id, new_hash)
