"""Connection strings and grants: /v1/connections and /v1/connection (both forms for each path)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import Connection

from ..auth.guard import Principal, current, requires
from ..errors import BadRequest, Forbidden, NotFound
from ..execution.resolve import confined_connection_string
from ..lib.roles import ADMINS, ALL_ROLES, GRANT
from ..store import connections as conn_store
from ..store import users as user_store
from ..store.connections import ConnectionRecord
from ..store.db import read, write
from ..store.users import User
from .common import accepts, creates, services
from .responses import CONN_TOKEN, CONNECTIONS, EMPTY, USERS, responds
from .schemas import ConnectionCreate, ConnectionUpdate, PageQuery

bp = Blueprint("connections", __name__)

TOKEN_NOT_FOUND = "connToken not found"  # noqa: S105 - a message, not a secret


def _record(conn: Connection, token: str) -> ConnectionRecord:
    record = services().connections.by_token(conn, token)
    if record is None:
        raise NotFound(TOKEN_NOT_FOUND)
    return record


def _record_and_user(conn: Connection, token: str, userid: str) -> tuple[ConnectionRecord, User]:
    record = _record(conn, token)
    user = user_store.get(conn, userid)
    if user is None:
        raise NotFound()
    return record, user


def _may_use(conn: Connection, principal: Principal, record: ConnectionRecord) -> bool:
    return principal.admin or conn_store.has_grant(conn, principal.id, record.id)


def _confined(raw: str | dict) -> str:
    return confined_connection_string(services(), raw)


@responds(CONNECTIONS)
@bp.get("/v1/connections")
@bp.get("/v1/connection")
@requires(ADMINS)
@accepts(PageQuery, source="query")
def list_connections(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every stored connection, sorted by ID; paged when `page` and `limit` are given."""
    svc = services()
    with read(svc.engine) as conn:
        records = svc.connections.list_page(conn, data.get("page"), data.get("limit"))
    return [record.public(show_credentials=True) for record in records]


@responds({"anyOf": [CONNECTIONS, CONN_TOKEN]})
@bp.get("/v1/connections/<token>")
@bp.get("/v1/connection/<token>")
@requires(ALL_ROLES)
def get_connection(token: str) -> list[dict[str, Any]] | dict[str, Any]:
    """One connection by connToken, or a connToken by connection name.

    A UUID segment is a connToken: the connection as a one-element array, for ADMIN, OWNER or a
    user granted its use (credentials in the connection string are shown only to ADMIN and
    OWNER). Any other segment is a connection name, answered as /v1/connections/find/{name}
    does: {"connToken": ...} for every authenticated user, 400 {"error": "Not Found"} when no
    connection has that name.
    """
    if not conn_store.looks_like_token(token):
        return _token_by_name(token)
    principal = current()
    with read(services().engine) as conn:
        record = _record(conn, token)
        if not _may_use(conn, principal, record):
            raise Forbidden(f"user {principal.id} has no grant on connection {record.id}")
    return [record.public(show_credentials=principal.admin)]


@responds(CONN_TOKEN)
@bp.get("/v1/connections/find/<name>")
@bp.get("/v1/connection/find/<name>")
@requires(ALL_ROLES)
def find_connection(name: str) -> dict[str, Any]:
    """The connToken of the connection with this name. Any authenticated user."""
    return _token_by_name(name)


def _token_by_name(name: str) -> dict[str, Any]:
    svc = services()
    with read(svc.engine) as conn:
        record = svc.connections.by_name(conn, name)
    if record is None:
        raise NotFound()
    return {"connToken": record.token}


@responds(USERS)
@bp.get("/v1/connection/<token>/users")
@bp.get("/v1/connections/<token>/users")
@requires(ADMINS)
def connection_users(token: str) -> list[dict[str, Any]]:
    """The users granted the use of a connection."""
    with read(services().engine) as conn:
        record = _record(conn, token)
        granted = conn_store.users_of(conn, record.id)
    return [user.public() for user in granted]


@responds(CONN_TOKEN)
@creates
@bp.post("/v1/connection")
@bp.post("/v1/connections")
@requires(ADMINS)
@accepts(ConnectionCreate)
def create_connection(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Save a connection string (encrypted at rest); returns its new connToken."""
    svc = services()
    with write(svc.engine) as conn:
        token = svc.connections.create(
            conn,
            name=data["name"],
            connection_string=_confined(data["connectionString"]),
            description=data.get("description", ""),
            enabled=data.get("enabled", True),
        )
    svc.changed("connection.create", connection=data["name"])
    return {"connToken": token}, 201


@responds(EMPTY)
@creates
@bp.post("/v1/connection/<token>/user/<userid>")
@bp.post("/v1/connections/<token>/users/<userid>")
@bp.post("/v1/connection/<token>/users/<userid>")
@bp.post("/v1/connections/<token>/user/<userid>")
@requires(GRANT)
def grant(token: str, userid: str) -> tuple[dict[str, Any], int]:
    """Grant a user the use of a connection.

    ALTER and FULL users may pass on only connections granted to themselves.
    """
    principal = current()
    with write(services().engine) as conn:
        record, user = _record_and_user(conn, token, userid)
        if not _may_use(conn, principal, record):
            raise Forbidden(f"user {principal.id} cannot grant connection {record.id} it lacks")
        conn_store.grant(conn, user.id, record.id)
    services().changed("grant.add", user_id=user.id, connection_id=record.id)
    return {}, 201


@responds(EMPTY)
@bp.patch("/v1/connections/<token>")
@bp.patch("/v1/connection/<token>")
@requires(ADMINS)
@accepts(ConnectionUpdate)
def update_connection(token: str, data: dict[str, Any]) -> dict[str, Any]:
    """Change a connection's string, name, description or enabled flag; its connToken stays."""
    if not data:
        raise BadRequest("Nothing to update: give connectionString, name, description or enabled")
    changes = dict(data)
    if "connectionString" in changes:
        changes["connection_string"] = _confined(changes.pop("connectionString"))
    svc = services()
    with write(svc.engine) as conn:
        record = _record(conn, token)
        svc.connections.update_fields(conn, record, changes)
    svc.changed(
        "connection.update", token=record.token, connection_id=record.id, fields=sorted(data)
    )
    return {}


@responds(EMPTY)
@bp.delete("/v1/connections/<token>")
@bp.delete("/v1/connection/<token>")
@requires(ADMINS)
def delete_connection(token: str) -> dict[str, Any]:
    """Delete a connection and every grant on it."""
    svc = services()
    with write(svc.engine) as conn:
        record = _record(conn, token)
        svc.connections.remove(conn, record)
    svc.changed("connection.delete", token=record.token, connection_id=record.id)
    return {}


@responds(EMPTY)
@bp.delete("/v1/connection/<token>/user/<userid>")
@bp.delete("/v1/connections/<token>/users/<userid>")
@bp.delete("/v1/connection/<token>/users/<userid>")
@bp.delete("/v1/connections/<token>/user/<userid>")
@requires(ADMINS)
def revoke(token: str, userid: str) -> dict[str, Any]:
    """Revoke a user's grant on a connection (no error if there was none)."""
    with write(services().engine) as conn:
        record, user = _record_and_user(conn, token, userid)
        conn_store.revoke(conn, user.id, record.id)
    services().changed("grant.remove", user_id=user.id, connection_id=record.id)
    return {}
