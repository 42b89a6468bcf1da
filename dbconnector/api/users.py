"""User management: /v1/users (and the singular /v1/user) endpoints."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import Connection

from ..auth.guard import Principal, current, requires
from ..errors import Forbidden, NotFound
from ..lib.roles import ADMINS, ALL_ROLES
from ..manage import users as manage_users
from ..store import users as user_store
from ..store.db import read
from ..store.users import User
from .common import accepts, creates, services
from .responses import EMPTY, GRANTED_CONNECTIONS, USER_ID, USERS, responds
from .schemas import PageQuery, UserCreate, UserUpdate

bp = Blueprint("users", __name__)


def visible_user(conn: Connection, principal: Principal, identifier: str) -> User:
    """The user named by id or username, if the caller may read it (itself, or any as ADMIN)."""
    user = user_store.get(conn, identifier)
    if principal.admin:
        if user is None:
            raise NotFound()
        return user
    if user is None or user.id != principal.id:
        raise Forbidden(f"user {principal.id} may read only itself")
    return user


@responds(USERS)
@bp.get("/v1/users")
@bp.get("/v1/user")
@requires(ADMINS)
@accepts(PageQuery, source="query")
def list_users(data: dict[str, Any]) -> list[dict[str, Any]]:
    """All users, sorted by ID; paged when `page` and `limit` are given (page counts from 0)."""
    with read(services().engine) as conn:
        users = user_store.list_page(conn, data.get("page"), data.get("limit"))
    return [user.public() for user in users]


@responds(USERS)
@bp.get("/v1/users/<identifier>")
@bp.get("/v1/user/<identifier>")
@requires(ALL_ROLES)
def get_user(identifier: str) -> list[dict[str, Any]]:
    """One user by ID or username, as a one-element array. ADMIN, OWNER, or the user itself."""
    with read(services().engine) as conn:
        return [visible_user(conn, current(), identifier).public()]


@responds(GRANTED_CONNECTIONS)
@bp.get("/v1/users/<identifier>/connections")
@bp.get("/v1/user/<identifier>/connections")
@requires(ALL_ROLES)
def user_connections(identifier: str) -> list[dict[str, Any]]:
    """The connections a user has been granted. ADMIN, OWNER, or the user itself."""
    principal = current()
    svc = services()
    with read(svc.engine) as conn:
        user = visible_user(conn, principal, identifier)
        records = svc.connections.granted_to(conn, user.id)
    return [
        {"Username": user.username, "userid": user.id, "connid": record.id}
        | record.public(show_credentials=principal.admin)
        for record in records
    ]


@responds(USER_ID)
@creates
@bp.post("/v1/users")
@bp.post("/v1/user")
@requires(ADMINS)
@accepts(UserCreate)
def create_user(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Add a user; returns its id. Nobody may create a user with a role above their own."""
    return {"id": manage_users.create(services(), current(), data)}, 201


@responds(EMPTY)
@bp.patch("/v1/users/<identifier>")
@bp.patch("/v1/user/<identifier>")
@requires(ADMINS)
@accepts(UserUpdate)
def update_user(identifier: str, data: dict[str, Any]) -> dict[str, Any]:
    """Change a user's fields; the last enabled OWNER cannot be disabled or demoted."""
    manage_users.update(services(), current(), identifier, data)
    return {}


@responds(EMPTY)
@bp.delete("/v1/users/<identifier>")
@bp.delete("/v1/user/<identifier>")
@requires(ADMINS)
def delete_user(identifier: str) -> dict[str, Any]:
    """Delete a user with its grants and tokens; the last enabled OWNER cannot be deleted."""
    manage_users.remove(services(), current(), identifier)
    return {}
