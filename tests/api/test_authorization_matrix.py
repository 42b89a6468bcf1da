"""The authorization matrix: every route of the service x every role x every caller condition,
asserting the exact status and body of each cell.

Expectations come from the specification's permission list (reference 002, "Permission:" lines
and "User Permissions"), not from the code:

  READ 1 selects; ALTER 2 also inserts, updates, execs and grants connections it holds ("FULL/
  SUPER"); FULL 4 also deletes and queries; ADMIN 2048 and OWNER 4096 do all that and CRUD users
  and connections. Reading a user record or its connections: ADMIN, OWNER or that user. Reading a
  connection: ADMIN, OWNER or a user granted it. Finding a connToken by name: any user.

Conditions of the caller (C) against the route's objects (a connection X, a READ user V):
  granted       enabled caller, X granted to it, called from an allowed address
  not granted   as granted, without the grant on X
  disabled conn X granted but disabled (the specification's connection `enabled` flag). The
                specification says nothing more; the service refuses to execute on it with 400
                {"error": "This connection is disabled"} and still lets it be read and managed.
  disabled user the caller's token was issued, then an admin disabled the caller: 403 {} everywhere
                (and its refresh tokens were ended: refresh is 401 Bad Token; a login answers
                as a wrong password does)
  foreign IP    the caller's allowlist excludes the address it calls from: 403 {} everywhere but
                login, which answers as a wrong password does

V is another user than the caller, so "that user" rules never apply here (tests/api/test_users.py
covers reading oneself). A route missing from ROUTES fails test_every_route_has_a_row.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from dbconnector.auth.roles import Role, is_admin
from dbconnector.store import jobs as job_store
from dbconnector.store.seed import build_demo_target
from dbconnector.store.tables import connections
from tests.support.app import Caller, Env

READ, ALTER, FULL, ADMIN, OWNER = Role.READ, Role.ALTER, Role.FULL, Role.ADMIN, Role.OWNER
ROLES = [READ, ALTER, FULL, ADMIN, OWNER]
ADMINS = {ADMIN, OWNER}
CONDITIONS = ["granted", "not granted", "disabled conn", "disabled user", "foreign IP"]
PASSWORD = "Matrix-Password-1"
FORBIDDEN = (403, {})
DISABLED_CONN = (400, {"error": "This connection is disabled"})


@dataclass
class Cell:
    """What one call sees: the caller and the fresh objects its route needs."""

    env: Env
    caller: Caller
    username: str
    token: str  # connection X
    name: str
    victim: int  # user V
    victim_name: str
    condition: str
    target: str  # connection X's file, inside DBCONNECTOR_SQLITE_ROOTS
    job: str = ""  # a finished job of the caller's on X (no rows)

    def body_for(self, row: Row) -> Any:
        return row.body(self) if callable(row.body) else row.body


@dataclass
class Row:
    method: str
    rule: str
    body: Any
    expect: Callable[[Cell, int], tuple[int, Any]]


def authenticated(
    allowed: set[int],
    success: Callable[[Cell], tuple[int, Any]],
    needs_grant: bool = False,
    executes: bool = False,
):
    """The usual shape: standing first, then role, then (for some) the grant, then the call."""

    def expect(cell: Cell, role: int) -> tuple[int, Any]:
        if cell.condition in ("disabled user", "foreign IP"):
            return FORBIDDEN
        if role not in allowed:
            return FORBIDDEN
        if needs_grant and role not in ADMINS and cell.condition == "not granted":
            return FORBIDDEN
        if executes and cell.condition == "disabled conn":
            return DISABLED_CONN
        return success(cell)

    return expect


def public(success: Callable[[Cell], tuple[int, Any]]):
    return lambda cell, _role: success(cell)


def is_user_record(cell: Cell) -> Callable[[Any], bool]:
    return lambda body: (
        body
        == [
            {
                "ID": cell.victim,
                "Username": cell.victim_name,
                "Password": "*****",
                "IPAddresses": "",
                "Enabled": True,
                "Role": 1,
                "TTL": "",
            }
        ]
    )


def lists_token(cell: Cell) -> Callable[[Any], bool]:
    return lambda body: cell.token in [record["Token"] for record in body]


def connection_record(cell: Cell, role: int) -> Callable[[Any], bool]:
    # Below ADMIN a target's location (here a SQLite file's path) is masked like a credential.
    shown = "target-" if is_admin(role) else '"database": "*****"'

    def check(body: Any) -> bool:
        (record,) = body
        return (
            record["Token"] == cell.token
            and record["Name"] == cell.name
            and record["Enabled"] == (cell.condition != "disabled conn")
            and shown in str(record["ConnectionString"])
            and (record["Count"], record["LastUse"]) == (0, None)
        )

    return check


def is_new_id(body: Any) -> bool:
    return set(body) == {"id"} and isinstance(body["id"], int)


def is_new_conn(body: Any) -> bool:
    return set(body) == {"connToken"} and uuid.UUID(body["connToken"]) is not None


SELECT_ROWS = 8
EXEC = {
    "select": {"table": "testTable"},
    "insert": {"table": "testTable", "fields": ["Name"], "values": [["x"]]},
    "update": {"table": "testTable", "values": {"Age": 22}, "filter": [{"ID": 1}]},
    "delete": {"table": "testTable", "filter": [{"ID": 8}]},
    "query": {"statement": "SELECT 1 AS one"},
    "exec": {"procname": "anything"},
}


def execution_rows() -> list[Row]:
    allowed = {
        "select": {READ, ALTER, FULL, ADMIN, OWNER},
        "insert": {ALTER, FULL, ADMIN, OWNER},
        "update": {ALTER, FULL, ADMIN, OWNER},
        "exec": {ALTER, FULL, ADMIN, OWNER},
        "delete": {FULL, ADMIN, OWNER},
        "query": {FULL, ADMIN, OWNER},
    }
    success = {
        "select": (200, lambda body: isinstance(body, list) and len(body) == SELECT_ROWS),
        "insert": (200, {"Identity": SELECT_ROWS + 1}),
        "update": (200, {"Updated": 1}),
        "delete": (200, {"Deleted": 1}),
        "query": (200, [{"one": 1}]),
        # SQLite has no stored procedures: the driver's clear 400, after every permission check.
        "exec": (400, {"error": "The sqlite driver has no stored procedures"}),
    }
    return [
        Row(
            "POST",
            f"/v1/{name}/<driver>",
            lambda cell, name=name: {"token": cell.token, **EXEC[name]},
            authenticated(allowed[name], lambda _c, s=success[name]: s, True, True),
        )
        for name in EXEC
    ]


def job_rows() -> list[Row]:
    """Submitting a job is the synchronous call's permission; a job is then its submitter's (and
    ADMIN's and OWNER's); its results also need the submitter's grant on X."""
    every = set(ROLES)
    submitters = {
        "select": {READ, ALTER, FULL, ADMIN, OWNER},
        "query": {FULL, ADMIN, OWNER},
        "exec": {ALTER, FULL, ADMIN, OWNER},
    }
    queued = (202, lambda body: set(body) == {"jobId", "status"} and body["status"] == "queued")
    submitted = {
        "select": queued,
        "query": queued,
        "exec": (400, {"error": "The sqlite driver has no stored procedures"}),
    }
    rows = [
        Row(
            "POST",
            f"/v1/jobs/{name}/<driver>",
            lambda cell, name=name: {"token": cell.token, **EXEC[name]},
            authenticated(submitters[name], lambda _c, s=submitted[name]: s, True, True),
        )
        for name in submitters
    ]
    # A table source into a table (append): /select's roles to read, /insert's to write, a grant
    # on both connections (both are X here); tests/execution/test_transfers_api.py has the rest.
    rows.append(
        Row(
            "POST",
            "/v1/jobs/transfer",
            lambda cell: {
                "source": {"token": cell.token, "table": "testTable"},
                "target": {"token": cell.token, "table": "testTable"},
            },
            authenticated({ALTER, FULL, ADMIN, OWNER}, lambda _c: queued, True, True),
        )
    )
    ended = {"error": "The job has already ended: succeeded", "status": "succeeded"}
    empty_page = {
        "columns": [],
        "rows": [],
        "offset": 0,
        "limit": 1000,
        "total": 0,
        "next": None,
    }
    return [
        *rows,
        Row(
            "GET",
            "/v1/jobs",
            None,
            authenticated(every, lambda c: (200, lambda b: c.job in [j["jobId"] for j in b])),
        ),
        Row(
            "GET",
            "/v1/jobs/<job_id>",
            None,
            authenticated(every, lambda c: (200, lambda b: b["jobId"] == c.job)),
        ),
        Row(
            "POST", "/v1/jobs/<job_id>/cancel", None, authenticated(every, lambda _c: (409, ended))
        ),
        Row("DELETE", "/v1/jobs/<job_id>", None, authenticated(every, lambda _c: (200, {}))),
        Row(
            "GET",
            "/v1/jobs/<job_id>/results",
            None,
            authenticated(
                every,
                lambda _c: (
                    200,
                    {"resultSets": [{"index": 0, "columns": [], "rows": 0}], "output": None},
                ),
                needs_grant=True,
            ),
        ),
        Row(
            "GET",
            "/v1/jobs/<job_id>/results/<index>",
            None,
            authenticated(every, lambda _c: (200, empty_page), needs_grant=True),
        ),
    ]


def both(rule: str) -> list[str]:
    """The singular and plural spellings the service answers to."""
    return [
        rule,
        rule.replace("/v1/users", "/v1/user").replace("/v1/connections", "/v1/connection"),
    ]


def management_rows() -> list[Row]:
    every = set(ROLES)
    granters = {ALTER, FULL, ADMIN, OWNER}
    rows: list[Row] = []
    for rule in both("/v1/users"):
        rows.append(
            Row(
                "GET",
                rule,
                None,
                authenticated(
                    ADMINS, lambda cell: (200, lambda body: cell.victim in [u["ID"] for u in body])
                ),
            )
        )
        rows.append(
            Row(
                "POST",
                rule,
                lambda cell: {
                    "username": f"new-{uuid.uuid4().hex[:8]}",
                    "password": PASSWORD,
                    "role": 1,
                },
                authenticated(ADMINS, lambda _c: (201, is_new_id)),
            )
        )
    for rule in both("/v1/users/<identifier>"):
        rows.append(
            Row("GET", rule, None, authenticated(ADMINS, lambda cell: (200, is_user_record(cell))))
        )
        rows.append(Row("PATCH", rule, {"ttl": "90s"}, authenticated(ADMINS, lambda _c: (200, {}))))
        rows.append(Row("DELETE", rule, None, authenticated(ADMINS, lambda _c: (200, {}))))
    for rule in both("/v1/users/<identifier>/connections"):
        rows.append(
            Row(
                "GET",
                rule,
                None,
                authenticated(
                    ADMINS,
                    lambda cell: (200, lambda body: [r["Token"] for r in body] == [cell.token]),
                ),
            )
        )
    for rule in both("/v1/connections"):
        rows.append(Row("GET", rule, None, authenticated(ADMINS, lambda c: (200, lists_token(c)))))
        rows.append(
            Row(
                "POST",
                rule,
                lambda _cell: {
                    "name": f"new-{uuid.uuid4().hex[:8]}",
                    "connectionString": {"driver": "sqlite", "database": _cell.target},
                },
                authenticated(ADMINS, lambda _c: (201, is_new_conn)),
            )
        )
    for rule in both("/v1/connections/<token>"):
        rows.append(Row("GET", rule, None, _read_connection))
        rows.append(
            Row(
                "PATCH",
                rule,
                {"description": "changed"},
                authenticated(ADMINS, lambda _c: (200, {})),
            )
        )
        rows.append(Row("DELETE", rule, None, authenticated(ADMINS, lambda _c: (200, {}))))
    for rule in both("/v1/connections/find/<name>"):
        rows.append(
            Row(
                "GET",
                rule,
                None,
                authenticated(every, lambda cell: (200, {"connToken": cell.token})),
            )
        )
    for rule in both("/v1/connections/<token>/users"):
        rows.append(
            Row(
                "GET",
                rule,
                None,
                authenticated(
                    ADMINS,
                    lambda cell: (
                        200,
                        lambda body: cell.victim in [r["ID"] for r in body],
                    ),
                ),
            )
        )
    for rule in both("/v1/connections/<token>/user/<userid>") + both(
        "/v1/connections/<token>/users/<userid>"
    ):
        # V already holds the grant; granting again is still a success ({}, 201).
        rows.append(
            Row("POST", rule, None, authenticated(granters, lambda _c: (201, {}), needs_grant=True))
        )
        rows.append(Row("DELETE", rule, None, authenticated(ADMINS, lambda _c: (200, {}))))
    return rows


def _read_connection(cell: Cell, role: int) -> tuple[int, Any]:
    expect = authenticated(set(ROLES), lambda _c: (200, None), needs_grant=True)
    status, _ = expect(cell, role)
    if status != 200:
        return expect(cell, role)
    return 200, connection_record(cell, role)


def public_rows() -> list[Row]:
    def login(cell: Cell) -> tuple[int, Any]:
        if cell.condition in ("disabled user", "foreign IP"):  # as a wrong password answers
            return 401, {"error": "Invalid username or password"}
        return 200, lambda body: set(body) == {"userid", "authToken", "refreshToken"}

    def refresh(cell: Cell) -> tuple[int, Any]:
        if cell.condition == "disabled user":
            return 401, {"error": "Bad Token"}
        if cell.condition == "foreign IP":
            return FORBIDDEN
        return 200, lambda body: set(body) == {"userid", "authToken", "refreshToken"}

    def metrics(cell: Cell) -> tuple[int, Any]:
        if cell.condition == "foreign IP":  # 192.0.2.7 is outside the default allowlist
            return FORBIDDEN
        return 200, lambda text: "# TYPE dbc_requests_total counter" in text

    return [
        Row("GET", "/admin/ok", None, public(lambda _c: (200, lambda b: isinstance(b, dict)))),
        # Operations endpoints (not in the specification): readiness is public; metrics only
        # for DBCONNECTOR_METRICS_ALLOWLIST addresses (loopback and private ranges by default).
        Row("GET", "/admin/ready", None, public(lambda _c: (200, {"metadata": "ok"}))),
        Row("GET", "/admin/metrics", None, public(metrics)),
        Row(
            "GET",
            "/v1/openapi.json",
            None,
            public(lambda _c: (200, lambda b: b["openapi"].startswith("3."))),
        ),
        # The documentation page and its assets are public, as /v1/openapi.json is.
        Row("GET", "/v1/docs", None, public(lambda _c: (200, lambda t: "swagger-ui" in t))),
        Row(
            "GET",
            "/v1/docs/swagger-ui.css",
            None,
            public(lambda _c: (200, lambda t: ".swagger-ui" in t)),
        ),
        Row(
            "GET",
            "/v1/docs/swagger-ui-bundle.js",
            None,
            public(lambda _c: (200, lambda t: "SwaggerUIBundle" in t)),
        ),
        Row(
            "GET",
            "/v1/docs/docs.js",
            None,
            public(lambda _c: (200, lambda t: "/v1/openapi.json" in t)),
        ),
        Row(
            "POST",
            "/v1/auth",
            lambda cell: {"username": cell.username, "password": PASSWORD},
            public(login),
        ),
        Row(
            "POST",
            "/v1/auth/refresh",
            lambda cell: {"refresh_token": cell.caller.refresh_token},
            public(refresh),
        ),
    ]


ROUTES = public_rows() + management_rows() + execution_rows() + job_rows()


def test_every_route_has_a_row(app):
    served = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    rows = [(row.method, row.rule) for row in ROUTES]
    assert len(rows) == len(set(rows)), "a route has two rows"
    assert served == set(rows)


def _fresh_cell(env: Env, caller: Caller, username: str, condition: str, target: Path) -> Cell:
    """New objects for one call, so a DELETE in one row cannot change another row's outcome."""
    db = target.parent / f"target-{uuid.uuid4().hex[:8]}.db"
    shutil.copy(target, db)
    name = f"x-{uuid.uuid4().hex[:8]}"
    token = env.connection({"driver": "sqlite", "database": str(db)}, name=name)
    victim_name = f"victim-{uuid.uuid4().hex[:8]}"
    response = env.owner.post(
        "/v1/users", {"username": victim_name, "password": PASSWORD, "role": 1}
    )
    assert response.status_code == 201
    victim = response.get_json()["id"]
    env.grant(token, _as_id(victim))
    if condition != "not granted" and caller.userid is not None:
        env.grant(token, _as_id(caller.userid))
    if condition == "disabled conn":
        assert env.owner.patch(f"/v1/connections/{token}", {"enabled": 0}).status_code == 200
    job = _finished_job(env, caller.userid or victim, name)
    return Cell(env, caller, username, token, name, victim, victim_name, condition, str(db), job)


def _finished_job(env: Env, user_id: int, connection_name: str) -> str:
    """A job of `user_id`'s on the named connection that succeeded with one empty result set."""
    job_id = str(uuid.uuid4())
    with env.services.engine.connect() as conn:
        connection_id = conn.execute(
            select(connections.c.id).where(connections.c.name == connection_name)
        ).scalar_one()
    now = dt.datetime.now(dt.UTC)
    job_store.add(
        env.services.engine,
        {
            "id": job_id,
            "user_id": user_id,
            "kind": "select",
            "driver": "sqlite",
            "connection_id": connection_id,
            "connection_name": connection_name,
            "body": env.services.box.seal("{}"),
            "status": "succeeded",
            "timeout": 60,
            "retain": 3600,
            "created_at": now,
            "started_at": now,
            "completed_at": now,
            "expires_at": now + dt.timedelta(hours=1),
            "summary": '{"resultSets":[{"index":0,"columns":[],"rows":0}],"output":null}',
        },
    )
    return job_id


def _as_id(user_id: int) -> Caller:
    stub = Caller(None)  # type: ignore[arg-type]
    stub.userid = user_id
    return stub


def _make_caller(env: Env, role: int, condition: str) -> tuple[Caller, str]:
    username = f"caller-{int(role)}@example.org"
    fields: dict[str, Any] = {"username": username, "password": PASSWORD, "role": int(role)}
    if condition == "foreign IP":
        fields["ipaddresses"] = "10.9.9.9"
    assert env.owner.post("/v1/users", fields).status_code == 201
    home = "10.9.9.9" if condition == "foreign IP" else "127.0.0.1"
    caller = Caller(env.client, addr=home).login(username, PASSWORD)
    if condition == "foreign IP":
        caller.addr = "192.0.2.7"  # the same token, from an address outside the allowlist
    if condition == "disabled user":
        assert env.owner.patch(f"/v1/users/{caller.userid}", {"enabled": 0}).status_code == 200
    return caller, username


def _call(cell: Cell, row: Row):  # type: ignore[no-untyped-def]
    path = (
        row.rule.replace("<driver>", "sqlite")
        .replace("<token>", cell.token)
        .replace("<identifier>", str(cell.victim))
        .replace("<userid>", str(cell.victim))
        .replace("<name>", cell.name)
        .replace("<job_id>", cell.job)
        .replace("<index>", "0")
    )
    return cell.caller.call(row.method, path, json=cell.body_for(row))


@pytest.mark.parametrize(
    "role, condition",
    list(itertools.product(ROLES, CONDITIONS)),
    ids=lambda v: v.name if isinstance(v, Role) else v.replace(" ", "-"),
)
def test_matrix(env, tmp_path, role, condition):
    target = tmp_path / "target.db"
    build_demo_target(target)
    caller, username = _make_caller(env, role, condition)
    wrong: list[str] = []
    for row in ROUTES:
        cell = _fresh_cell(env, caller, username, condition, target)
        if row.rule == "/v1/auth/refresh" and condition not in ("disabled user",):
            # a refresh token is good once: take a fresh pair (from the caller's own address)
            fresh = Caller(
                env.client, addr=caller.addr if condition != "foreign IP" else "10.9.9.9"
            ).login(username, PASSWORD)
            cell.caller = Caller(env.client, fresh.token, caller.addr)
            cell.caller.refresh_token = fresh.refresh_token
        response = _call(cell, row)
        status, body = row.expect(cell, int(role))
        actual = response.get_json(silent=True)
        if actual is None:  # a text body (metrics)
            actual = response.get_data(as_text=True)
        try:
            matches = body(actual) if callable(body) else actual == body
        except (KeyError, TypeError, ValueError, AttributeError):
            matches = False
        if response.status_code != status or not matches:
            shown = "(check)" if callable(body) else body
            wrong.append(
                f"{row.method} {row.rule}: expected {status} {shown}, "
                f"got {response.status_code} {actual}"
            )
    assert not wrong, "\n".join(wrong)
