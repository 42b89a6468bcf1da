"""Creating, changing and deleting users: nobody assigns or touches a role above their own, and
the last enabled OWNER stays (store/users.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from ..app_state import Services
from ..auth.guard import Principal
from ..errors import BadRequest, Forbidden, NotFound
from ..lib.roles import is_admin, may_assign, may_manage
from ..store import console_sessions, refresh_tokens
from ..store import users as user_store
from ..store.db import write
from ..store.passwords import new_password_hash
from ..store.users import User

NOTHING_TO_UPDATE = "Nothing to update: give username, password, role, enabled, ipaddresses or ttl"


def managed_user(conn: Connection, principal: Principal, identifier: str | int) -> User:
    """The user to change or delete; nobody may touch a user above their own role."""
    user = user_store.get(conn, identifier)
    if user is None:
        raise NotFound()
    if not may_manage(principal.role, user.role):
        raise Forbidden(f"user {principal.id} may not manage user {user.id}")
    return user


def create(svc: Services, principal: Principal, data: dict[str, Any]) -> int:
    """Add a user (`data` as the UserCreate schema loads it); returns its id."""
    if not may_assign(principal.role, data["role"]):
        raise Forbidden(f"user {principal.id} may not grant role {data['role']}")
    fields = dict(data)
    settings = svc.settings
    password_hash = new_password_hash(
        fields.pop("password"), settings.bcrypt_rounds, settings.min_password_length
    )
    with write(svc.engine) as conn:
        user_id = user_store.create(conn, password_hash=password_hash, **fields)
    svc.changed("user.create", user_id=user_id, role=fields["role"])
    return user_id


def update(svc: Services, principal: Principal, identifier: str | int, data: dict[str, Any]) -> int:
    """Change a user's fields (`data` as the UserUpdate schema loads it); returns its id."""
    if not data:
        raise BadRequest(NOTHING_TO_UPDATE)
    if "role" in data and not may_assign(principal.role, data["role"]):
        raise Forbidden(f"user {principal.id} may not grant role {data['role']}")
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
        if _ends_console_sessions(changes):
            console_sessions.end_user(conn, user.id)
    svc.changed("user.update", user_id=user.id, fields=sorted(data))
    return user.id


def remove(svc: Services, principal: Principal, identifier: str | int) -> int:
    """Delete a user with its grants, tokens and console sessions; returns its id."""
    with write(svc.engine, serialize=True) as conn:
        user = managed_user(conn, principal, identifier)
        user_store.remove(conn, user)
    svc.changed("user.delete", user_id=user.id)
    return user.id


def _ends_console_sessions(changes: dict[str, Any]) -> bool:
    demoted = "role" in changes and not is_admin(changes["role"])
    return demoted or "password_hash" in changes or changes.get("enabled") is False
