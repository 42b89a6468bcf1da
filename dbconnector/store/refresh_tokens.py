"""Live refresh tokens: a row per token, deleted when it is used, so each works exactly once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, insert

from .db import utcnow
from .tables import refresh_tokens


def add(conn: Connection, jti: str, user_id: int, access_jti: str, expires_at: dt.datetime) -> None:
    # Expired rows are swept here, on the write path, so the table never grows without bound.
    conn.execute(delete(refresh_tokens).where(refresh_tokens.c.expires_at < utcnow()))
    conn.execute(
        insert(refresh_tokens).values(
            jti=jti, user_id=user_id, access_jti=access_jti, expires_at=expires_at
        )
    )


def redeem(conn: Connection, jti: str, user_id: int, access_jti: str) -> bool:
    """Consume the token; False if it was already used, revoked, or belongs to another pair."""
    result = conn.execute(
        delete(refresh_tokens).where(
            refresh_tokens.c.jti == jti,
            refresh_tokens.c.user_id == user_id,
            refresh_tokens.c.access_jti == access_jti,
        )
    )
    return result.rowcount == 1


def revoke_user(conn: Connection, user_id: int) -> None:
    conn.execute(delete(refresh_tokens).where(refresh_tokens.c.user_id == user_id))
