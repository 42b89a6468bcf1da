"""Console sessions: the server-side half of a signed-in browser (console/session.py).

The cookie holds a random id; only its SHA-256 is stored, so a copy of this table opens no
session. A row ends on sign-out, after its idle time, or when its user is disabled, demoted,
deleted or given a new password.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from .tables import console_sessions

_BY_ID = select(console_sessions).where(console_sessions.c.id == bindparam("b_id"))


@dataclass(frozen=True)
class ConsoleSession:
    id: str  # the hash
    user_id: int
    csrf: str
    generation: int
    idle_seconds: int
    seen_at: dt.datetime


def digest(cookie_id: str) -> str:
    return hashlib.sha256(cookie_id.encode()).hexdigest()


def add(conn: Connection, cookie_id: str, *, now: dt.datetime, **fields: Any) -> None:
    """fields: user_id, csrf, generation, idle_seconds."""
    conn.execute(
        insert(console_sessions).values(id=digest(cookie_id), created_at=now, seen_at=now, **fields)
    )


def get(conn: Connection, cookie_id: str) -> ConsoleSession | None:
    row = conn.execute(_BY_ID, {"b_id": digest(cookie_id)}).first()
    if row is None:
        return None
    seen = row.seen_at if row.seen_at.tzinfo else row.seen_at.replace(tzinfo=dt.UTC)
    return ConsoleSession(row.id, row.user_id, row.csrf, row.generation, row.idle_seconds, seen)


def touch(conn: Connection, session_id: str, now: dt.datetime) -> None:
    conn.execute(
        update(console_sessions).where(console_sessions.c.id == session_id).values(seen_at=now)
    )


def end(conn: Connection, session_id: str) -> None:
    conn.execute(delete(console_sessions).where(console_sessions.c.id == session_id))


def end_user(conn: Connection, user_id: int) -> None:
    """Every console session of the user (disabled, demoted or a new password)."""
    conn.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id))


def end_idle(conn: Connection, before: dt.datetime) -> None:
    """Sessions not seen since `before` (the longest idle time allowed ago)."""
    conn.execute(delete(console_sessions).where(console_sessions.c.seen_at < before))
