"""Connection strings and grants: /v1/connections and /v1/connection (both forms for each path)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import Connection

from ..auth.guard import current, requires
from ..errors import Forbidden, NotFound
from ..lib.roles import ADMINS, ALL_ROLES, GRANT
from ..manage import connections as manage_connections
from ..store import connections as conn_store
from ..store.connections import ConnectionRecord
from ..store.db import read
from .common import accepts, creates, services
from .responses import CONN_TOKEN, CONNECTIONS, EMPTY, USERS, responds
from .schemas import ConnectionCreate, ConnectionUpdate, PageQuery

bp = Blueprint("connections", __name__)


def _record(conn: Connection, token: str) -> ConnectionRecord:
    return manage_connections.record(services(), conn, token)


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
        if not manage_connections.may_use(conn, principal, record):
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
    return {"connToken": manage_connections.create(services(), data)}, 201


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
    manage_connections.grant(services(), current(), token, userid)
    return {}, 201


@responds(EMPTY)
@bp.patch("/v1/connections/<token>")
@bp.patch("/v1/connection/<token>")
@requires(ADMINS)
@accepts(ConnectionUpdate)
def update_connection(token: str, data: dict[str, Any]) -> dict[str, Any]:
    """Change a connection's string, name, description or enabled flag; its connToken stays."""
    manage_connections.update(services(), token, data)
    return {}


@responds(EMPTY)
@bp.delete("/v1/connections/<token>")
@bp.delete("/v1/connection/<token>")
@requires(ADMINS)
def delete_connection(token: str) -> dict[str, Any]:
    """Delete a connection and every grant on it."""
    manage_connections.remove(services(), token)
    return {}


@responds(EMPTY)
@bp.delete("/v1/connection/<token>/user/<userid>")
@bp.delete("/v1/connections/<token>/users/<userid>")
@bp.delete("/v1/connection/<token>/users/<userid>")
@bp.delete("/v1/connections/<token>/user/<userid>")
@requires(ADMINS)
def revoke(token: str, userid: str) -> dict[str, Any]:
    """Revoke a user's grant on a connection (no error if there was none)."""
    manage_connections.revoke(services(), token, userid)
    return {}
