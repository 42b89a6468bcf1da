"""Stored connection strings (encrypted), their connTokens, grants and usage counters."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import BadRequest
from . import connstring
from .db import matching_page, utcnow
from .secrets import SecretBox
from .tables import connections, grants, users
from .users import COLUMNS as user_columns
from .users import User, from_row

TOKEN_RE = re.compile(
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
)
DUPLICATE_NAME = "A connection with that name already exists."


@dataclass(frozen=True)
class ConnectionRecord:
    id: int
    token: str
    name: str
    description: str
    connection_string: str  # decrypted
    enabled: bool
    count: int
    last_use: dt.datetime | None

    def public(self, show_credentials: bool) -> dict[str, Any]:
        text = self.connection_string
        return {
            "ID": self.id,
            "Token": self.token,
            "Name": self.name,
            "Description": self.description,
            "ConnectionString": text if show_credentials else connstring.masked(text),
            "Enabled": self.enabled,
            "Count": self.count,
            "LastUse": iso_utc(self.last_use),
        }


def iso_utc(value: dt.datetime | None) -> str | None:
    """'2021-08-10T19:30:20.160Z', the specification's LastUse format."""
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive datetimes; we only ever store UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def looks_like_token(text: str) -> bool:
    """A UUID, as a connToken is written: such a segment is a token, never a connection name."""
    return TOKEN_RE.match(text.strip()) is not None


def canonical_token(token: str) -> str:
    """connTokens compare case-insensitively; the stored form is upper case."""
    if not looks_like_token(token):
        raise BadRequest("malformed connToken")
    return token.strip().upper()


_COLUMNS = (
    connections.c.id,
    connections.c.token,
    connections.c.name,
    connections.c.description,
    connections.c.secret,
    connections.c.enabled,
    connections.c.count,
    connections.c.last_use,
)


class ConnectionStore:
    """Reads and writes connection records, sealing and opening connection strings with `box`."""

    def __init__(self, box: SecretBox) -> None:
        self.box = box

    def _record(self, row: Any) -> ConnectionRecord:
        return ConnectionRecord(
            id=row.id,
            token=row.token,
            name=row.name,
            description=row.description or "",
            connection_string=self.box.open(row.secret),
            enabled=bool(row.enabled),
            count=int(row.count or 0),
            last_use=row.last_use,
        )

    def by_token(self, conn: Connection, token: str) -> ConnectionRecord | None:
        row = conn.execute(
            select(*_COLUMNS).where(connections.c.token == canonical_token(token))
        ).first()
        return self._record(row) if row else None

    def by_name(self, conn: Connection, name: str) -> ConnectionRecord | None:
        row = conn.execute(select(*_COLUMNS).where(connections.c.name == name)).first()
        return self._record(row) if row else None

    def list_page(
        self, conn: Connection, page: int | None, limit: int | None
    ) -> list[ConnectionRecord]:
        query = select(*_COLUMNS).order_by(connections.c.id)
        if limit is not None:
            query = query.limit(limit).offset((page or 0) * limit)
        return [self._record(row) for row in conn.execute(query)]

    def search(
        self, conn: Connection, text: str, offset: int, limit: int
    ) -> tuple[list[ConnectionRecord], int]:
        """A page of the connections whose name contains `text`, and how many match."""
        rows, total = matching_page(conn, _COLUMNS, connections.c.name, text, offset, limit)
        return [self._record(row) for row in rows], total

    def granted_to(self, conn: Connection, user_id: int) -> list[ConnectionRecord]:
        query = (
            select(*_COLUMNS)
            .join(grants, grants.c.connection_id == connections.c.id)
            .where(grants.c.user_id == user_id)
            .order_by(connections.c.id)
        )
        return [self._record(row) for row in conn.execute(query)]

    def create(
        self,
        conn: Connection,
        *,
        name: str,
        connection_string: str,
        description: str = "",
        enabled: bool = True,
        token: str | None = None,
    ) -> str:
        token = canonical_token(token) if token else str(uuid.uuid4()).upper()
        now = utcnow()
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(connections).values(
                        token=token,
                        name=name,
                        description=description,
                        secret=self.box.seal(connection_string),
                        enabled=enabled,
                        count=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            raise BadRequest(DUPLICATE_NAME) from None
        return token

    def update_fields(self, conn: Connection, record: ConnectionRecord, changes: dict) -> None:
        values = dict(changes)
        if "connection_string" in values:
            values["secret"] = self.box.seal(values.pop("connection_string"))
        try:
            with conn.begin_nested():
                conn.execute(
                    update(connections)
                    .where(connections.c.id == record.id)
                    .values(**values, updated_at=utcnow())
                )
        except IntegrityError:
            raise BadRequest(DUPLICATE_NAME) from None

    @staticmethod
    def remove(conn: Connection, record: ConnectionRecord) -> None:
        conn.execute(delete(connections).where(connections.c.id == record.id))


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(connections)).scalar_one())


def users_of(conn: Connection, connection_id: int) -> list[User]:
    query = (
        select(*user_columns)
        .join(grants, grants.c.user_id == users.c.id)
        .where(grants.c.connection_id == connection_id)
        .order_by(users.c.id)
    )
    return [from_row(row) for row in conn.execute(query)]


def grant(conn: Connection, user_id: int, connection_id: int) -> None:
    """Idempotent: granting twice leaves one grant."""
    if has_grant(conn, user_id, connection_id):
        return
    try:
        with conn.begin_nested():
            conn.execute(
                insert(grants).values(
                    user_id=user_id, connection_id=connection_id, created_at=utcnow()
                )
            )
    except IntegrityError:  # a concurrent grant of the same pair won the race; same outcome
        pass


def revoke(conn: Connection, user_id: int, connection_id: int) -> bool:
    result = conn.execute(
        delete(grants).where(grants.c.user_id == user_id, grants.c.connection_id == connection_id)
    )
    return result.rowcount > 0


def has_grant(conn: Connection, user_id: int, connection_id: int) -> bool:
    row = conn.execute(
        select(grants.c.user_id).where(
            grants.c.user_id == user_id, grants.c.connection_id == connection_id
        )
    ).first()
    return row is not None


def add_usage(conn: Connection, usage: Mapping[int, tuple[int, dt.datetime]]) -> None:
    """Add counted uses and move LastUse forward, one UPDATE per connection."""
    for connection_id, (uses, last_use) in usage.items():
        conn.execute(
            update(connections)
            .where(connections.c.id == connection_id)
            .values(
                count=connections.c.count + uses,
                # Never move LastUse backwards when another instance flushed a later use first.
                last_use=case(
                    (
                        or_(connections.c.last_use.is_(None), connections.c.last_use < last_use),
                        last_use,
                    ),
                    else_=connections.c.last_use,
                ),
            )
        )
