"""Connections: the list; a form per driver instead of a JSON connection string (the stored
password never shown, an empty one keeping it); "Test connection"; delete; and who may use one."""

from __future__ import annotations

import json
from typing import Any

from flask import g, request

from ..api.schemas import ConnectionCreate, ConnectionUpdate
from ..execution.probe import probe
from ..manage import connections as manage_connections
from ..store import connections as conn_store
from ..store import connstring
from ..store.connections import ConnectionRecord
from ..store.db import read
from .pages import PAGE_SIZE, attempt, bp, done, number, page, page_count, parse, services

_CREATE, _UPDATE = ConnectionCreate(), ConnectionUpdate()
# The form's drivers, by the name a connection string declares.
DRIVERS = {
    "postgresql": "PostgreSQL",
    "mysql": "MySQL / MariaDB",
    "mssql": "SQL Server",
    "sqlite": "SQLite",
}
NETWORK_FIELDS = ("host", "port", "database", "user", "schema")


@bp.get("/connections")
def connections() -> Any:
    text = request.args.get("q", "").strip()
    number_ = number("page")
    svc = services()
    with read(svc.engine) as conn:
        found, total = svc.connections.search(conn, text, number_ * PAGE_SIZE, PAGE_SIZE)
    rows = [(record, declared_driver(record)) for record in found]
    return page(
        "connections.html",
        rows=rows,
        total=total,
        q=text,
        page=number_,
        pages=page_count(total),
        drivers=DRIVERS,
    )


@bp.route("/connections/new", methods=["GET", "POST"])
def new_connection() -> Any:
    if request.method == "GET":
        driver = request.args.get("driver", "postgresql")
        chosen = driver if driver in DRIVERS else "postgresql"
        return _connection_form(None, {"driver": chosen, "enabled": True})

    def create() -> Any:
        fields = _form_fields(connection_string(request.form, {}))
        token = manage_connections.create(services(), parse(_CREATE, fields))
        return done("Connection created.", "console.connection", token=token)

    return attempt(create, lambda error: _connection_form(None, request.form, error))


@bp.route("/connections/<token>", methods=["GET", "POST"])
def connection(token: str) -> Any:
    record = _record(token)
    if request.method == "GET":
        return _connection_form(record, _shown(record))

    def save() -> Any:
        stored = connstring.parse(record.connection_string)
        fields = _form_fields(connection_string(request.form, stored))
        manage_connections.update(services(), record.token, parse(_UPDATE, fields))
        return done("Connection saved.", "console.connection", token=record.token)

    return attempt(save, lambda error: _connection_form(record, request.form, error))


@bp.post("/connections/<token>/test")
def test_connection(token: str) -> Any:
    record = _record(token)

    def test() -> Any:
        failure = probe(services(), g.principal, record.token)
        return _connection_form(record, _shown(record), tested=failure or "ok")

    return attempt(test, lambda error: _connection_form(record, _shown(record), tested=error))


@bp.route("/connections/<token>/delete", methods=["GET", "POST"])
def delete_connection(token: str) -> Any:
    record = _record(token)
    if request.method == "GET":
        return page(
            "confirm.html",
            question=f"Delete connection {record.name} and every grant on it?",
            back=("console.connection", {"token": record.token}),
        )

    def remove() -> Any:
        manage_connections.remove(services(), record.token)
        return done(f"Connection {record.name} deleted.", "console.connections")

    return attempt(remove, lambda error: page("error.html", message=error))


@bp.post("/connections/<token>/grants")
def grant(token: str) -> Any:
    record = _record(token)
    user = request.form.get("grantee", "").strip()

    def add() -> Any:
        manage_connections.grant(services(), g.principal, record.token, user)
        return done(f"Granted to {user}.", "console.connection", token=record.token)

    return attempt(add, lambda error: _connection_form(record, _shown(record), grant_error=error))


@bp.post("/connections/<token>/grants/<int:user_id>/revoke")
def revoke(token: str, user_id: int) -> Any:
    record = _record(token)

    def remove() -> Any:
        manage_connections.revoke(services(), record.token, user_id)
        return done("Grant revoked.", "console.connection", token=record.token)

    return attempt(
        remove, lambda error: _connection_form(record, _shown(record), grant_error=error)
    )


def declared_driver(record: ConnectionRecord) -> str:
    try:
        return str(connstring.parse(record.connection_string).get("driver") or "")
    except Exception:  # a string stored before the rules: listed, not parsed
        return ""


def connection_string(form: Any, stored: dict[str, Any]) -> dict[str, Any]:
    """The connection string the form describes, over the stored one: keys the form does not
    show stay, and an empty password keeps the stored password."""
    spec = {key: value for key, value in stored.items() if key not in {"server", "username"}}
    driver = form.get("driver", "")
    spec["driver"] = driver
    names = ("database",) if driver == "sqlite" else NETWORK_FIELDS
    for name in NETWORK_FIELDS:
        value = form.get(name, "").strip() if name in names else ""
        if value:
            spec[name] = int(value) if name == "port" and value.isdigit() else value
        else:
            spec.pop(name, None)
    password = form.get("password", "")
    if password:
        spec["password"] = password
    elif driver == "sqlite":
        spec.pop("password", None)
    options = _options(form.get("options", ""))
    if options:
        spec["options"] = options
    else:
        spec.pop("options", None)
    return spec


def _options(text: str) -> dict[str, Any]:
    """'name=value' lines; whole numbers and decimals become numbers."""
    options: dict[str, Any] = {}
    for line in text.splitlines():
        name, _, value = line.partition("=")
        if not name.strip():
            continue
        value = value.strip()
        try:
            options[name.strip()] = json.loads(value) if value[:1].isdigit() else value
        except ValueError:
            options[name.strip()] = value
    return options


def _form_fields(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": request.form.get("name", ""),
        "description": request.form.get("description", ""),
        "enabled": "1" if request.form.get("enabled") else "0",
        "connectionString": spec,
    }


def _record(token: str) -> ConnectionRecord:
    svc = services()
    with read(svc.engine) as conn:
        return manage_connections.record(svc, conn, token)


def _shown(record: ConnectionRecord) -> dict[str, Any]:
    """The form's values: never the password."""
    try:
        spec = connstring.parse(record.connection_string)
    except Exception:  # a string stored before the rules: shown empty, fixed by saving
        spec = {}
    options = spec.get("options") or {}
    return {
        "name": record.name,
        "description": record.description,
        "enabled": record.enabled,
        "driver": spec.get("driver", ""),
        "host": spec.get("host") or spec.get("server") or "",
        "port": spec.get("port", ""),
        "database": spec.get("database", ""),
        "user": spec.get("user") or spec.get("username") or "",
        "schema": spec.get("schema", ""),
        "options": "\n".join(
            f"{key}={value if isinstance(value, str) else json.dumps(value)}"
            for key, value in options.items()
        ),
    }


def _connection_form(
    record: ConnectionRecord | None,
    values: Any,
    error: str | None = None,
    grant_error: str | None = None,
    tested: str | None = None,
) -> tuple[str, int]:
    svc = services()
    grantees = []
    if record is not None:
        with read(svc.engine) as conn:
            grantees = conn_store.users_of(conn, record.id)
    return page(
        "connection.html",
        400 if error or grant_error else 200,
        record=record,
        values=values,
        drivers=DRIVERS,
        grantees=grantees,
        error=error,
        grant_error=grant_error,
        tested=tested,
    )
