"""Users: the paged, searchable list; create, edit (enable, disable, new password), delete; and
the connections each may use."""

from __future__ import annotations

from typing import Any

from flask import g, request

from ..api.schemas import UserCreate, UserUpdate
from ..errors import NotFound
from ..lib.roles import Role
from ..manage import connections as manage_connections
from ..manage import users as manage_users
from ..store import users as user_store
from ..store.db import read
from ..store.users import User
from .pages import (
    PAGE_SIZE,
    assignable_roles,
    attempt,
    bp,
    done,
    number,
    page,
    page_count,
    parse,
    services,
)

_CREATE, _UPDATE = UserCreate(), UserUpdate()
FIELDS = ("username", "password", "role", "ipaddresses", "ttl")


@bp.get("/users")
def users() -> Any:
    text = request.args.get("q", "").strip()
    number_ = number("page")
    with read(services().engine) as conn:
        found, total = user_store.search(conn, text, number_ * PAGE_SIZE, PAGE_SIZE)
    return page(
        "users.html", users=found, total=total, q=text, page=number_, pages=page_count(total)
    )


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> Any:
    if request.method == "GET":
        return _user_form(None, {"enabled": True, "role": int(Role.READ)})

    def create() -> Any:
        data = parse(_CREATE, _form_fields())
        user_id = manage_users.create(services(), g.principal, data)
        return done("User created.", "console.user", user_id=user_id)

    return attempt(create, lambda error: _user_form(None, request.form, error))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int) -> Any:
    found = _user(user_id)
    if request.method == "GET":
        return _user_form(found, _shown(found))

    def save() -> Any:
        fields = _form_fields()
        if not fields["password"]:  # an empty password field keeps the password
            del fields["password"]
        manage_users.update(services(), g.principal, found.id, parse(_UPDATE, fields))
        return done("User saved.", "console.user", user_id=found.id)

    return attempt(save, lambda error: _user_form(found, request.form, error))


@bp.route("/users/<int:user_id>/delete", methods=["GET", "POST"])
def delete_user(user_id: int) -> Any:
    found = _user(user_id)
    if request.method == "GET":
        return page(
            "confirm.html",
            question=f"Delete user {found.username} (ID {found.id}) with its grants?",
            back=("console.user", {"user_id": found.id}),
        )

    def remove() -> Any:
        manage_users.remove(services(), g.principal, found.id)
        return done(f"User {found.username} deleted.", "console.users")

    return attempt(remove, lambda error: page("error.html", message=error))


@bp.post("/users/<int:user_id>/grants")
def grant_to_user(user_id: int) -> Any:
    found = _user(user_id)
    name = request.form.get("connection", "").strip()

    def grant() -> Any:
        svc = services()
        with read(svc.engine) as conn:
            record = svc.connections.by_name(conn, name)
        if record is None:
            raise NotFound(f"No connection is named {name!r}")
        manage_connections.grant(svc, g.principal, record.token, found.id)
        return done(f"Granted {record.name}.", "console.user", user_id=found.id)

    return attempt(grant, lambda error: _user_form(found, _shown(found), grant_error=error))


@bp.post("/users/<int:user_id>/grants/<token>/revoke")
def revoke_from_user(user_id: int, token: str) -> Any:
    found = _user(user_id)

    def revoke() -> Any:
        manage_connections.revoke(services(), token, found.id)
        return done("Grant revoked.", "console.user", user_id=found.id)

    return attempt(revoke, lambda error: _user_form(found, _shown(found), grant_error=error))


def _user(user_id: int) -> User:
    with read(services().engine) as conn:
        found = user_store.get(conn, user_id)
    if found is None:
        raise NotFound("No such user")
    return found


def _shown(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "role": user.role,
        "enabled": user.enabled,
        "ipaddresses": user.ipaddresses,
        "ttl": user.ttl,
    }


def _form_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {name: request.form.get(name, "") for name in FIELDS}
    fields["enabled"] = "1" if request.form.get("enabled") else "0"
    return fields


def _user_form(
    found: User | None,
    values: Any,
    error: str | None = None,
    grant_error: str | None = None,
) -> tuple[str, int]:
    svc = services()
    granted = []
    if found is not None:
        with read(svc.engine) as conn:
            granted = svc.connections.granted_to(conn, found.id)
    return page(
        "user.html",
        400 if error or grant_error else 200,
        user=found,
        values=values,
        roles=assignable_roles(),
        granted=granted,
        error=error,
        grant_error=grant_error,
    )
