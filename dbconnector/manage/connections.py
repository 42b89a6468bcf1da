"""Stored connections and grants: creating, changing and deleting connections (their targets
confined, execution/resolve.py), granting and revoking their use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from ..app_state import Services
from ..auth.guard import Principal
from ..errors import BadRequest, Forbidden, NotFound
from ..execution.resolve import confined_connection_string
from ..store import connections as conn_store
from ..store import users as user_store
from ..store.connections import ConnectionRecord
from ..store.db import write
from ..store.users import User

TOKEN_NOT_FOUND = "connToken not found"  # noqa: S105 - a message, not a secret
NOTHING_TO_UPDATE = "Nothing to update: give connectionString, name, description or enabled"


def record(svc: Services, conn: Connection, token: str) -> ConnectionRecord:
    found = svc.connections.by_token(conn, token)
    if found is None:
        raise NotFound(TOKEN_NOT_FOUND)
    return found


def may_use(conn: Connection, principal: Principal, found: ConnectionRecord) -> bool:
    return principal.admin or conn_store.has_grant(conn, principal.id, found.id)


def create(svc: Services, data: dict[str, Any]) -> str:
    """Save a connection (`data` as the ConnectionCreate schema loads it); returns its token."""
    with write(svc.engine) as conn:
        token = svc.connections.create(
            conn,
            name=data["name"],
            connection_string=confined_connection_string(svc, data["connectionString"]),
            description=data.get("description", ""),
            enabled=data.get("enabled", True),
        )
    svc.changed("connection.create", connection=data["name"])
    return token


def update(svc: Services, token: str, data: dict[str, Any]) -> None:
    """Change a connection's string, name, description or enabled flag; its token stays."""
    if not data:
        raise BadRequest(NOTHING_TO_UPDATE)
    changes = dict(data)
    if "connectionString" in changes:
        changes["connection_string"] = confined_connection_string(
            svc, changes.pop("connectionString")
        )
    with write(svc.engine) as conn:
        found = record(svc, conn, token)
        svc.connections.update_fields(conn, found, changes)
    svc.changed("connection.update", token=found.token, connection_id=found.id, fields=sorted(data))


def remove(svc: Services, token: str) -> None:
    """Delete a connection and every grant on it."""
    with write(svc.engine) as conn:
        found = record(svc, conn, token)
        svc.connections.remove(conn, found)
    svc.changed("connection.delete", token=found.token, connection_id=found.id)


def grant(svc: Services, principal: Principal, token: str, userid: str | int) -> None:
    """Grant a user the use of a connection; ALTER and FULL users may pass on only connections
    granted to themselves."""
    with write(svc.engine) as conn:
        found, user = _record_and_user(svc, conn, token, userid)
        if not may_use(conn, principal, found):
            raise Forbidden(f"user {principal.id} cannot grant connection {found.id} it lacks")
        conn_store.grant(conn, user.id, found.id)
    svc.changed("grant.add", user_id=user.id, connection_id=found.id)


def revoke(svc: Services, token: str, userid: str | int) -> None:
    """Revoke a user's grant on a connection (no error if there was none)."""
    with write(svc.engine) as conn:
        found, user = _record_and_user(svc, conn, token, userid)
        conn_store.revoke(conn, user.id, found.id)
    svc.changed("grant.remove", user_id=user.id, connection_id=found.id)


def _record_and_user(
    svc: Services, conn: Connection, token: str, userid: str | int
) -> tuple[ConnectionRecord, User]:
    found = record(svc, conn, token)
    user = user_store.get(conn, userid)
    if user is None:
        raise NotFound()
    return found, user
