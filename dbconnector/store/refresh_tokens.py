"""Refresh tokens: a row per token until it expires, marked spent when used, so each works once.

A spent row stays until expiry so that presenting the token again is recognised as a reuse
(someone holds a copy), not mistaken for an unknown token.
"""

from __future__ import annotations

import datetime as dt
import enum
import time

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from .db import utcnow
from .tables import refresh_tokens, users


class Redeemed(enum.Enum):
    OK = "ok"
    SPENT = "spent"  # a reuse: the token was valid once and has been used already
    UNKNOWN = "unknown"  # never issued, revoked, expired and swept, or paired otherwise


# The statements of every refresh, built once: building and cache-keying SQLAlchemy statements
# per call is a large share of a refresh (bench/README.md).
_MINE = (
    (refresh_tokens.c.jti == bindparam("b_jti"))
    & (refresh_tokens.c.user_id == bindparam("b_user_id"))
    & (refresh_tokens.c.access_jti == bindparam("b_access_jti"))
)
_ADD = insert(refresh_tokens)
_SPEND = (
    update(refresh_tokens)
    .where(_MINE, refresh_tokens.c.spent_at.is_(None))
    .values(spent_at=bindparam("b_now"))
)
_FIND = select(refresh_tokens.c.jti).where(_MINE)

SWEEP_SECONDS = 60.0
_swept_at = [-SWEEP_SECONDS]  # this process's last sweep (time.monotonic)


def add(conn: Connection, jti: str, user_id: int, access_jti: str, expires_at: dt.datetime) -> None:
    # Expired rows (spent or not) are swept here, on the write path, so the table stays bounded;
    # at most once a minute per process, not as an extra statement on every refresh.
    now = time.monotonic()
    if now - _swept_at[0] >= SWEEP_SECONDS:
        _swept_at[0] = now
        conn.execute(delete(refresh_tokens).where(refresh_tokens.c.expires_at < utcnow()))
    conn.execute(
        _ADD, {"jti": jti, "user_id": user_id, "access_jti": access_jti, "expires_at": expires_at}
    )


def redeem(conn: Connection, jti: str, user_id: int, access_jti: str) -> Redeemed:
    """Mark the token spent. The conditional UPDATE lets exactly one concurrent caller win."""
    mine = {"b_jti": jti, "b_user_id": user_id, "b_access_jti": access_jti}
    if conn.execute(_SPEND, {**mine, "b_now": utcnow()}).rowcount == 1:
        return Redeemed.OK
    spent = conn.execute(_FIND, mine).first()
    return Redeemed.SPENT if spent else Redeemed.UNKNOWN


def revoke_user(conn: Connection, user_id: int) -> None:
    """End the user's outstanding refresh tokens (a new password, a disabled account).

    Spent rows stay so a further reuse is still recognised; unspent ones are deleted, so the
    legitimate holder's now-dead token reads as unknown rather than as another reuse.
    """
    conn.execute(
        delete(refresh_tokens).where(
            refresh_tokens.c.user_id == user_id, refresh_tokens.c.spent_at.is_(None)
        )
    )


def revoke_all(conn: Connection, user_id: int) -> None:
    """End every token of the user: its refresh tokens, and its live authTokens, which carry
    the user's token generation (auth/guard.py refuses an older one)."""
    revoke_user(conn, user_id)
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(token_generation=users.c.token_generation + 1)
    )
