"""User management: /v1/users (and the singular /v1/user) endpoints."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import Connection

from ..auth.guard import Principal, current, requires
from ..errors import BadRequest, Forbidden, NotFound
from ..lib.roles import ADMINS, ALL_ROLES, may_assign, may_manage
from ..store import refresh_tokens
from ..store import users as user_store
from ..store.db import read, write
from ..store.passwords import new_password_hash
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


def managed_user(conn: Connection, principal: Principal, identifier: str) -> User:
    """The user to change or delete; nobody may touch a user above their own role."""
    user = user_store.get(conn, identifier)
    if user is None:
        raise NotFound()
    if not may_manage(principal.role, user.role):
        raise Forbidden(f"user {principal.id} may not manage user {user.id}")
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
    principal = current()
    if not may_assign(principal.role, data["role"]):
        raise Forbidden(f"user {principal.id} may not grant role {data['role']}")
    svc = services()
    settings = svc.settings
    password_hash = new_password_hash(
        data.pop("password"), settings.bcrypt_rounds, settings.min_password_length
    )
    with write(svc.engine) as conn:
        user_id = user_store.create(conn, password_hash=password_hash, **data)
    svc.changed("user.create", user_id=user_id, role=data["role"])
    return {"id": user_id}, 201


@responds(EMPTY)
@bp.patch("/v1/users/<identifier>")
@bp.patch("/v1/user/<identifier>")
@requires(ADMINS)
@accepts(UserUpdate)
def update_user(identifier: str, data: dict[str, Any]) -> dict[str, Any]:
    """Change a user's fields; the last enabled OWNER cannot be disabled or demoted."""
    if not data:
        raise BadRequest(
            "Nothing to update: give username, password, role, enabled, ipaddresses or ttl"
        )
    principal = current()
    if "role" in data and not may_assign(principal.role, data["role"]):
        raise Forbidden(f"user {principal.id} may not grant role {data['role']}")
    svc = services()
    changes = dict(data)
    if "password" in changes:  # hashed before the transaction: bcrypt is slow by design
        changes["password_hash"] = new_password_hash(
            changes.pop("password"), svc.settings.bcrypt_rounds, svc.settings.min_password_length
        )
    with write(svc.engine, serialize=True) as conn:
        user = managed_user(conn, principal, identifier)
        user_store.update_fields(conn, user, changes)
        # A new password ends every token, live authTokens included (a stolen one must not
        # outlive the change); a disabled account's calls get 403 anyway, so only its refresh
        # tokens go.
        if "password_hash" in changes:
            refresh_tokens.revoke_all(conn, user.id)
        elif changes.get("enabled") is False:
            refresh_tokens.revoke_user(conn, user.id)
    svc.changed("user.update", user_id=user.id, fields=sorted(data))
    return {}


@responds(EMPTY)
@bp.delete("/v1/users/<identifier>")
@bp.delete("/v1/user/<identifier>")
@requires(ADMINS)
def delete_user(identifier: str) -> dict[str, Any]:
    """Delete a user with its grants and tokens; the last enabled OWNER cannot be deleted."""
    svc = services()
    with write(svc.engine, serialize=True) as conn:
        user = managed_user(conn, current(), identifier)
        user_store.remove(conn, user)
    svc.changed("user.delete", user_id=user.id)
    return {}
