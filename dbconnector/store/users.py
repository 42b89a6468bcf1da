"""Users in the metadata database, and the invariant that at least one enabled OWNER remains."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from ..auth.roles import Role
from ..errors import BadRequest
from .db import utcnow
from .tables import TOKEN_STAMP_LENGTH, users

DUPLICATE_USERNAME = "Username already exists."


@dataclass(frozen=True)
class User:
    id: int
    username: str
    password_hash: str
    ipaddresses: str
    enabled: bool
    role: int
    ttl: str
    token_generation: int = 0
    token_stamp: str = ""

    def public(self) -> dict[str, Any]:
        """The specification's user record; the password is never shown."""
        return {
            "ID": self.id,
            "Username": self.username,
            "Password": "*****",
            "IPAddresses": self.ipaddresses,
            "Enabled": self.enabled,
            "Role": self.role,
            "TTL": self.ttl,
        }


COLUMNS = (
    users.c.id,
    users.c.username,
    users.c.password_hash,
    users.c.ipaddresses,
    users.c.enabled,
    users.c.role,
    users.c.ttl,
    users.c.token_generation,
    users.c.token_stamp,
)


def from_row(row: Any) -> User:
    return User(
        id=row.id,
        username=row.username,
        password_hash=row.password_hash,
        ipaddresses=row.ipaddresses or "",
        enabled=bool(row.enabled),
        role=int(row.role),
        ttl=row.ttl or "",
        token_generation=int(row.token_generation or 0),
        token_stamp=row.token_stamp,
    )


def new_token_stamp() -> str:
    """A user's token stamp: random, so no two users (nor a user and its deleted namesake) share
    one."""
    return secrets.token_hex(TOKEN_STAMP_LENGTH // 2)


MAX_ID = 2**31 - 1
# Built once: every authenticated request on a cold principal cache and every refresh runs one.
_BY_ID = select(*COLUMNS).where(users.c.id == bindparam("b_id"))
_BY_USERNAME = select(*COLUMNS).where(users.c.username == bindparam("b_username"))


def get(conn: Connection, identifier: int | str) -> User | None:
    """By numeric id, or by username when `identifier` is not all digits."""
    if isinstance(identifier, str) and identifier.isascii() and identifier.isdigit():
        identifier = int(identifier)
    if isinstance(identifier, int):
        if not 0 < identifier <= MAX_ID:  # beyond any id: no round trip, no integer overflow
            return None
        row = conn.execute(_BY_ID, {"b_id": identifier}).first()
    else:
        row = conn.execute(_BY_USERNAME, {"b_username": identifier}).first()
    return from_row(row) if row else None


def get_by_username(conn: Connection, username: str) -> User | None:
    row = conn.execute(_BY_USERNAME, {"b_username": username}).first()
    return from_row(row) if row else None


def list_page(conn: Connection, page: int | None, limit: int | None) -> list[User]:
    query = select(*COLUMNS).order_by(users.c.id)
    if limit is not None:
        query = query.limit(limit).offset((page or 0) * limit)
    return [from_row(row) for row in conn.execute(query)]


def create(
    conn: Connection,
    *,
    username: str,
    password_hash: str,
    role: int,
    enabled: bool = True,
    ipaddresses: str = "",
    ttl: str = "",
) -> int:
    now = utcnow()
    try:
        with conn.begin_nested():
            result = conn.execute(
                insert(users).values(
                    username=username,
                    password_hash=password_hash,
                    role=role,
                    enabled=enabled,
                    ipaddresses=ipaddresses,
                    ttl=ttl,
                    token_stamp=new_token_stamp(),
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        raise BadRequest(DUPLICATE_USERNAME) from None
    return int(result.inserted_primary_key[0])


def update_fields(conn: Connection, user: User, changes: dict[str, Any]) -> None:
    """Apply `changes` (column -> value); refuses to leave the service without an enabled OWNER."""
    if _loses_owner(user, changes):
        _ensure_other_owner(conn, user.id)
    try:
        with conn.begin_nested():
            conn.execute(
                update(users).where(users.c.id == user.id).values(**changes, updated_at=utcnow())
            )
    except IntegrityError:
        raise BadRequest(DUPLICATE_USERNAME) from None


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    """Replace a hash with one of the same password (a new bcrypt cost); not a password change."""
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def remove(conn: Connection, user: User) -> None:
    if user.enabled and user.role & Role.OWNER:
        _ensure_other_owner(conn, user.id)
    conn.execute(delete(users).where(users.c.id == user.id))


def _loses_owner(user: User, changes: dict[str, Any]) -> bool:
    if not (user.enabled and user.role & Role.OWNER):
        return False
    demoted = "role" in changes and not changes["role"] & Role.OWNER
    disabled = "enabled" in changes and not changes["enabled"]
    return demoted or disabled


def _ensure_other_owner(conn: Connection, user_id: int) -> None:
    # FOR UPDATE locks the OWNER rows (PostgreSQL, SQL Server, MySQL) so two admins cannot demote
    # the last two OWNERs at once; on SQLite the caller's BEGIN IMMEDIATE serializes writers.
    owners = conn.execute(
        select(users.c.id)
        .where(users.c.role.op("&")(int(Role.OWNER)) != 0, users.c.enabled == true())
        .with_for_update()
    ).all()
    if not any(row.id != user_id for row in owners):
        raise BadRequest("The last enabled OWNER cannot be deleted, disabled or demoted")
