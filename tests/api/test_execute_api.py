"""Execution endpoints at the API layer, on a SQLite target: who may call what, connToken and driver
errors, request validation, and what a caller learns when a target cannot be reached."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbconnector.lib.roles import Role
from dbconnector.store.seed import build_demo_target
from tests.support.app import Caller, Env, build_app
from tests.support.servers import free_port

ENDPOINTS = {
    "select": {"table": "testTable"},
    "insert": {"table": "testTable", "fields": ["Name"], "values": [["x"]]},
    "update": {"table": "testTable", "values": {"Age": 22}, "filter": [{"ID": 1}]},
    "delete": {"table": "testTable", "filter": [{"ID": 8}]},
    "query": {"statement": "SELECT 1 AS one"},
    "exec": {"procname": "anything"},
}
# The specification's role table: READ selects; ALTER also inserts, updates and execs;
# FULL also deletes and queries; ADMIN and OWNER do everything.
ALLOWED = {
    Role.READ: {"select"},
    Role.ALTER: {"select", "insert", "update", "exec"},
    Role.FULL: {"select", "insert", "update", "exec", "delete", "query"},
    Role.ADMIN: set(ENDPOINTS),
    Role.OWNER: set(ENDPOINTS),
}


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    path = tmp_path / "target.db"
    build_demo_target(path)
    return path


@pytest.fixture
def token(env: Env, demo_db: Path) -> str:
    return env.connection({"driver": "sqlite", "database": str(demo_db)}, name="demo")


def call(caller: Caller, endpoint: str, token: str, driver: str = "sqlite", **body):  # type: ignore[no-untyped-def]
    return caller.post(f"/v1/{endpoint}/{driver}", {"token": token, **body})


@pytest.mark.parametrize("role", list(ALLOWED))
def test_role_table(env, token, role):
    user = env.user(role)
    env.grant(token, user)
    for endpoint, body in ENDPOINTS.items():
        response = call(user, endpoint, token, **body)
        if endpoint in ALLOWED[role]:
            assert response.status_code != 403, (role, endpoint)
            expected_error = {"exec": "The sqlite driver has no stored procedures"}.get(endpoint)
            if expected_error:
                assert response.get_json() == {"error": expected_error}
            else:
                assert response.status_code == 200, (role, endpoint, response.get_json())
        else:
            assert response.status_code == 403 and response.get_json() == {}, (role, endpoint)


@pytest.mark.parametrize("role", [Role.READ, Role.FULL])
def test_users_may_use_only_granted_connections(env, token, role):
    user = env.user(role)
    response = call(user, "select", token, table="testTable")
    assert response.status_code == 403 and response.get_json() == {}
    env.grant(token, user)
    assert len(call(user, "select", token, table="testTable").get_json()) == 8


def test_admin_uses_any_connection_without_a_grant(env, token):
    admin = env.user(Role.ADMIN)
    assert len(call(admin, "select", token, table="testTable").get_json()) == 8


def test_revoke_takes_effect_at_once_on_the_same_instance(env, token):
    user = env.user(Role.READ)
    env.grant(token, user)
    assert call(user, "select", token, table="testTable").status_code == 200
    env.owner.delete(f"/v1/connection/{token}/user/{user.userid}")
    assert call(user, "select", token, table="testTable").status_code == 403


def test_revoke_reaches_other_instances_within_the_cache_time(tmp_path, migrated_template, demo_db):
    shutil.copy(migrated_template, tmp_path / "shared.db")
    settings = {"database_url": f"sqlite:///{tmp_path / 'shared.db'}", "cache_seconds": 1.0}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = Env(build_app(tmp_path / "a", migrated_template, **settings))
    other_app = build_app(tmp_path / "b", migrated_template, **settings)
    token = first.connection({"driver": "sqlite", "database": str(demo_db)})
    user = first.user(Role.READ)
    first.grant(token, user)
    elsewhere = Caller(other_app.test_client(), user.token)
    assert call(elsewhere, "select", token, table="testTable").status_code == 200
    first.owner.delete(f"/v1/connection/{token}/user/{user.userid}")
    deadline = time.monotonic() + 3
    while call(elsewhere, "select", token, table="testTable").status_code == 200:
        assert time.monotonic() < deadline, "revocation did not reach the other instance"
        time.sleep(0.1)
    assert call(elsewhere, "select", token, table="testTable").get_json() == {}


def test_disabled_connection_cannot_be_used(env, token):
    env.owner.patch(f"/v1/connections/{token}", {"enabled": 0})
    response = call(env.owner, "select", token, table="testTable")
    assert response.status_code == 400
    assert response.get_json() == {"error": "This connection is disabled"}


def test_changed_connection_string_is_used_at_once(env, token, tmp_path):
    other = tmp_path / "other.db"
    build_demo_target(other)
    import sqlite3

    with sqlite3.connect(other) as db:
        db.execute('DELETE FROM "testTable" WHERE "ID" > 2')
    assert len(call(env.owner, "select", token, table="testTable").get_json()) == 8
    env.owner.patch(
        f"/v1/connections/{token}",
        {"connectionString": {"driver": "sqlite", "database": str(other)}},
    )
    assert len(call(env.owner, "select", token, table="testTable").get_json()) == 2


def test_deleted_connection_is_not_found(env, token):
    assert call(env.owner, "select", token, table="testTable").status_code == 200
    env.owner.delete(f"/v1/connections/{token}")
    response = call(env.owner, "select", token, table="testTable")
    assert response.status_code == 400 and response.get_json() == {"error": "connToken not found"}
    assert token not in env.services.pools._engines


@pytest.mark.parametrize(
    "path, body, message",
    [
        ("select/sqlite", None, "Missing payload"),
        ("select/sqlite", {"table": "testTable"}, "Missing connection string token"),
        ("select/sqlite", {"token": None, "table": "testTable"}, "Missing connection string token"),
        ("select/sqlite", {"token": "TOKEN"}, "Missing table in payload"),
        (
            "insert/sqlite",
            {"token": "TOKEN", "table": "testTable", "values": [[1]]},
            "Insert must have fields defined",
        ),
        (
            "insert/sqlite",
            {"token": "TOKEN", "table": "testTable", "fields": ["Name"]},
            "Insert must have field values defined",
        ),
        (
            "update/sqlite",
            {"token": "TOKEN", "table": "testTable", "filter": [{"ID": 1}]},
            "Update must have field values defined",
        ),
        ("query/sqlite", {"token": "TOKEN"}, "Missing statement"),
        (
            "query/sqlite",
            {"token": "TOKEN", "statement": "SELECT {a}", "args": "{not json"},
            "args must be a JSON object (or a string holding one)",
        ),
        (
            "query/sqlite",
            {"token": "TOKEN", "statement": "SELECT {a}", "args": {"a": [1]}},
            "args.a must be a string, number, boolean or null",
        ),
        ("exec/sqlite", {"token": "TOKEN"}, "Missing procname in payload"),
        (
            "exec/sqlite",
            {"token": "TOKEN", "procname": "p", "params": {"a b": 1}},
            "params: 'a b' is not a parameter name",
        ),
        (
            "exec/sqlite",
            {"token": "TOKEN", "procname": "p", "output": {"o": "date"}},
            'output.o must be "number", "varchar" or "nvarchar"',
        ),
        ("select/sqlite", {"token": "not-a-token", "table": "testTable"}, "malformed connToken"),
        (
            "select/sqlite",
            {"token": "00000000-0000-0000-0000-000000000000", "table": "t"},
            "connToken not found",
        ),
        (
            "select/sqlite",
            {"token": "TOKEN", "table": "testTable", "limit": "ten", "sort": ["ID"]},
            "limit must be a whole number",
        ),
        (
            "select/oracle",
            {"token": "TOKEN", "table": "testTable"},
            "Unknown driver 'oracle': use mssql, postgresql, mysql or sqlite",
        ),
        (
            "select/mssql",
            {"token": "TOKEN", "table": "testTable"},
            "This connection is for the sqlite driver; call /sqlite instead of /mssql",
        ),
    ],
)
def test_bad_requests_are_400_with_the_original_messages(env, token, path, body, message):
    if isinstance(body, dict) and body.get("token") == "TOKEN":
        body = {**body, "token": token}
    response = env.owner.post(f"/v1/{path}", body)
    assert response.status_code == 400
    assert response.get_json() == {"error": message}


def test_driver_aliases_are_accepted(env, token):
    assert (
        env.owner.post("/v1/select/SQLite3", {"token": token, "table": "testTable"}).status_code
        == 200
    )


def test_a_client_sending_nulls_and_extra_fields_works(env, token):
    """The City's Drupal client posts every field it knows, unused ones as null."""
    body = {
        "token": token,
        "table": "testTable",
        "filter": [{"Name": "%A%"}],
        "sort": ["Name"],
        "limit": 3,
        "page": 0,
        "statement": None,
        "args": None,
    }
    rows = env.owner.post("/v1/select/sqlite", body).get_json()
    assert [r["Name"] for r in rows] == ["Caroline Stjarnborg", "David Upton", "James Duffy"]
    query = {
        "token": token,
        "statement": "SELECT 7 AS n",
        "table": None,
        "filter": None,
        "sort": None,
        "limit": None,
        "page": 0,
    }
    assert env.owner.post("/v1/query/sqlite", query).get_json() == [{"n": 7}]


def test_sqlite_attach_is_refused(env, token, tmp_path):
    response = call(
        env.owner, "query", token, statement=f"ATTACH DATABASE '{tmp_path / 'other.db'}' AS other"
    )
    assert response.status_code == 400
    assert "ATTACH" in response.get_json()["error"]
    assert not (tmp_path / "other.db").exists()
    vacuum = call(env.owner, "query", token, statement=f"VACUUM INTO '{tmp_path / 'copy.db'}'")
    assert vacuum.status_code == 400 and not (tmp_path / "copy.db").exists()


def test_missing_sqlite_file_is_not_created(env, tmp_path):
    missing = tmp_path / "nope.db"
    token = env.connection({"driver": "sqlite", "database": str(missing)})
    response = call(env.owner, "select", token, table="t")
    assert response.status_code == 503
    assert response.get_json() == {
        "error": "Cannot connect to the target database: the database file cannot be opened"
    }
    assert not missing.exists()


def test_usage_is_buffered_and_flushed(make_env, demo_db):
    env = make_env(usage_flush_seconds=0.2)
    token = env.connection({"driver": "sqlite", "database": str(demo_db)})
    for _ in range(3):
        call(env.owner, "select", token, table="testTable")
    deadline = time.monotonic() + 3
    while env.owner.get(f"/v1/connections/{token}").get_json()[0]["Count"] != 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)


# --- unreachable targets ------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and then never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def _closed_port() -> int:
    return free_port()  # bound once and closed again: nothing listens there


@pytest.mark.parametrize("driver", ["postgresql", "mysql", "mssql"])
def test_refused_connection_is_a_quick_503_naming_no_host(env, driver):
    port = _closed_port()
    token = env.connection(
        {
            "driver": driver,
            "host": "127.0.0.1",
            "port": port,
            "database": "db",
            "user": "svc-user",
            "password": "pa55word-XYZ",
        }
    )
    started = time.monotonic()
    response = call(env.owner, "select", token, driver=driver, table="t")
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error.startswith("Cannot connect to the target database")
    for secret in ("127.0.0.1", str(port), "svc-user", "pa55word-XYZ"):
        assert secret not in error


@pytest.mark.parametrize("driver", ["postgresql", "mysql", "mssql"])
def test_silent_host_times_out_within_the_connect_timeout(env, driver, silent_server):
    token = env.connection(
        {
            "driver": driver,
            "host": "127.0.0.1",
            "port": silent_server,
            "database": "db",
            "user": "u",
            "password": "p",
            "options": {"connect_timeout": 2},
        }
    )
    started = time.monotonic()
    response = call(env.owner, "select", token, driver=driver, table="t")
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"].startswith("Cannot connect to the target database")
    assert elapsed < 8, elapsed


def test_unknown_host_name_is_not_echoed(env):
    token = env.connection(
        {
            "driver": "postgresql",
            "host": "db-that-does-not-exist.invalid",
            "database": "x",
            "user": "u",
            "options": {"connect_timeout": 2},
        }
    )
    response = call(env.owner, "select", token, driver="postgresql", table="t")
    assert response.status_code == 503
    assert "db-that-does-not-exist" not in response.get_json()["error"]


def test_bad_connection_option_is_400(env):
    token = env.connection({"driver": "postgresql", "host": "h", "options": {"sslmod": "require"}})
    response = call(env.owner, "select", token, driver="postgresql", table="t")
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(
        "connection option(s) sslmod are not known to the postgresql driver"
    )
