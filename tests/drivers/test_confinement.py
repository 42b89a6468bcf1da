"""A connection can never reach the service's own files: an ADMIN must not become OWNER through a
SQLite target that names the metadata database (by any path form), nor read its secrets."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbconnector.auth.roles import Role
from dbconnector.cli import main
from dbconnector.drivers.confinement import OUTSIDE_ROOTS, SERVICE_FILE
from dbconnector.drivers.sqlite import _authorize
from dbconnector.store.db import write
from dbconnector.store.seed import build_demo_target
from tests.support.app import OWNER

RULES = {OUTSIDE_ROOTS, SERVICE_FILE}


def _forms(data_dir: Path, tmp_path: Path) -> dict[str, str]:
    """Every way of naming the metadata database this test knows."""
    metadata = data_dir / "dbconnector.db"
    link = tmp_path / "innocent.db"
    link.symlink_to(metadata)
    forms = {
        "absolute": str(metadata),
        "symlink": str(link),
        "dot": f"{data_dir}/./dbconnector.db",
        "dotdot": f"{data_dir}/../{data_dir.name}/dbconnector.db",
        "file uri": f"file:{metadata}?mode=rw",
        "file uri localhost": f"file://localhost{metadata}",
        "relative to cwd": os.path.relpath(metadata, os.getcwd()),
        "wal": f"{metadata}-wal",
        "secret key": str(data_dir / "secret_key"),
        "lock dir": str(data_dir / "locks" / "connection-1.lock"),
    }
    hard = tmp_path / "hard.db"
    try:
        os.link(metadata, hard)
        forms["hard link"] = str(hard)
    except OSError:  # a filesystem without hard links: nothing to test there
        pass
    return forms


@pytest.fixture
def attack(env, tmp_path):
    """The ADMIN who attacks, a legitimate target it may change, and the path forms."""
    admin = env.user(Role.ADMIN)
    legit = tmp_path / "legit.db"
    build_demo_target(legit)
    token = env.connection({"driver": "sqlite", "database": str(legit)}, name="legit")
    data_dir = env.services.settings.data_dir
    return admin, token, _forms(data_dir, tmp_path)


def _assert_nothing_changed(env, admin) -> None:
    users = env.owner.get("/v1/users").get_json()
    roles = {user["Username"]: user["Role"] for user in users}
    assert roles[OWNER[0]] == int(Role.OWNER)
    assert roles[admin.username] == int(Role.ADMIN)


def _refused(response, *rules: str) -> str:
    body = response.get_json()
    assert response.status_code == 400, body
    assert body["error"] in (rules or RULES), body
    assert "dbconnector.db" not in body["error"]
    return body["error"]


@pytest.mark.parametrize("driver", [None, "sqlite", "sqlite3"])
def test_every_path_form_is_refused_at_create(env, attack, driver):
    admin, _, forms = attack
    for form, path in forms.items():
        spec = {"database": path} | ({"driver": driver} if driver else {})
        answer = admin.post("/v1/connections", {"name": f"x-{form}", "connectionString": spec})
        _refused(answer)
        as_text = admin.post(
            "/v1/connection", {"name": f"t-{form}", "connectionString": json.dumps(spec)}
        )
        _refused(as_text)
    names = {record["Name"] for record in env.owner.get("/v1/connections").get_json()}
    assert names == {"legit"}
    _assert_nothing_changed(env, admin)


def test_every_path_form_is_refused_at_change(env, attack):
    admin, token, forms = attack
    before = env.owner.get(f"/v1/connections/{token}").get_json()[0]["ConnectionString"]
    for path in forms.values():
        spec = {"driver": "sqlite", "database": path}
        _refused(admin.patch(f"/v1/connections/{token}", {"connectionString": spec}))
    after = env.owner.get(f"/v1/connections/{token}").get_json()[0]["ConnectionString"]
    assert after == before
    _assert_nothing_changed(env, admin)


def test_a_row_written_into_the_metadata_database_is_refused_at_use(env, attack):
    admin, _, forms = attack
    svc = env.services
    tokens = {}
    with write(svc.engine) as conn:  # as an upgrade from an unfixed version would have left it
        for form, path in forms.items():
            spec = json.dumps({"driver": "sqlite", "database": path})
            tokens[form] = svc.connections.create(conn, name=f"old-{form}", connection_string=spec)
    escalate = "UPDATE users SET role = 4096 WHERE username = :me"
    for form, token in tokens.items():
        read = admin.post("/v1/select/sqlite", {"token": token, "table": "users"})
        assert _refused(read), form
        write_ = admin.post(
            "/v1/query/sqlite",
            {"token": token, "statement": escalate.replace(":me", f"'{admin.username}'")},
        )
        _refused(write_)
    _assert_nothing_changed(env, admin)


def test_a_target_swapped_for_a_symlink_is_refused_at_the_next_connect(make_env, tmp_path):
    env = make_env(cache_seconds=60.0)  # the resolved record stays cached: connect must check
    target = tmp_path / "swapped.db"
    build_demo_target(target)
    token = env.connection({"driver": "sqlite", "database": str(target)})
    body = {"token": token, "statement": "SELECT COUNT(*) AS n FROM testTable"}
    first = env.owner.post("/v1/query/sqlite", body)  # /query closes its connection after
    assert first.status_code == 200 and first.get_json() == [{"n": 8}]
    target.unlink()
    target.symlink_to(env.services.settings.data_dir / "dbconnector.db")
    users = {"token": token, "statement": "SELECT password_hash FROM users"}
    _refused(env.owner.post("/v1/query/sqlite", users), SERVICE_FILE)


def test_targets_outside_the_roots_are_refused_and_inside_them_work(make_env, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    env = make_env(sqlite_roots=(root,))
    inside = root / "inside.db"
    outside = tmp_path / "outside.db"
    build_demo_target(inside)
    build_demo_target(outside)
    escape = root / "escape.db"
    escape.symlink_to(outside)
    for path in (outside, escape, f"{root}/../outside.db"):
        spec = {"driver": "sqlite", "database": str(path)}
        answer = env.owner.post("/v1/connections", {"name": "out", "connectionString": spec})
        _refused(answer, OUTSIDE_ROOTS)
    token = env.connection({"driver": "sqlite", "database": str(inside)})
    rows = env.owner.post("/v1/select/sqlite", {"token": token, "table": "testTable"})
    assert rows.status_code == 200 and len(rows.get_json()) == 8


def test_the_demo_target_in_the_data_dir_still_works(env):
    from dbconnector.store.seed import DEMO_TOKEN, seed_demo

    seed_demo(env.services.engine, env.services.settings)
    body = {"token": DEMO_TOKEN, "table": "testTable", "fields": ["ID"], "sort": ["ID"]}
    answer = env.owner.post("/v1/select/sqlite", body)
    assert answer.status_code == 200
    assert [row["ID"] for row in answer.get_json()] == list(range(1, 9))


def test_a_grantee_below_admin_sees_no_server_path(env, tmp_path):
    target = tmp_path / "people.db"
    build_demo_target(target)
    token = env.connection({"driver": "sqlite", "database": str(target), "password": "pw"})
    user = env.user(Role.FULL)
    env.grant(token, user)
    (record,) = user.get(f"/v1/connections/{token}").get_json()
    shown = json.loads(record["ConnectionString"])
    assert shown == {"driver": "sqlite", "database": "*****", "password": "*****"}
    (as_owner,) = env.owner.get(f"/v1/connections/{token}").get_json()
    assert json.loads(as_owner["ConnectionString"])["database"] == str(target)
    network = env.connection({"driver": "postgresql", "host": "db", "database": "reports"})
    env.grant(network, user)
    (other,) = user.get(f"/v1/connections/{network}").get_json()
    assert json.loads(other["ConnectionString"])["database"] == "*****"  # a server's name too


@pytest.mark.parametrize(
    "statement",
    [
        "ATTACH DATABASE '{meta}' AS meta",
        "VACUUM INTO '{copy}'",
        "SELECT load_extension('/usr/lib/x86_64-linux-gnu/libsqlite3.so.0')",
    ],
)
def test_sqlite_statements_that_reach_other_files_are_refused(env, tmp_path, statement):
    target = tmp_path / "t.db"
    build_demo_target(target)
    token = env.connection({"driver": "sqlite", "database": str(target)})
    sql = statement.format(
        meta=env.services.settings.data_dir / "dbconnector.db", copy=tmp_path / "copy.db"
    )
    answer = env.owner.post("/v1/query/sqlite", {"token": token, "statement": sql})
    assert answer.status_code == 400
    # /query runs in a transaction, where SQLite refuses VACUUM before asking the authorizer.
    assert answer.get_json()["error"].startswith(("not authorized", "cannot VACUUM"))
    assert not (tmp_path / "copy.db").exists()
    direct = sqlite3.connect(target, isolation_level=None)  # so the authorizer itself is tested
    direct.set_authorizer(_authorize)
    with pytest.raises(sqlite3.DatabaseError, match=r"not authorized|authorization denied"):
        direct.execute(sql)
    direct.close()
    assert not (tmp_path / "copy.db").exists()


def test_connections_check_lists_stored_rows_that_break_a_rule(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    monkeypatch.setenv("DBCONNECTOR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DBCONNECTOR_SQLITE_ROOTS", str(tmp_path))
    for name in ("DBCONNECTOR_DATABASE_URL", "DBCONNECTOR_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    good = tmp_path / "good.db"
    sqlite3.connect(good).close()
    from dbconnector.config import Settings
    from dbconnector.store.connections import ConnectionStore
    from dbconnector.store.db import make_engine
    from dbconnector.store.secrets import SecretBox

    settings = Settings.from_env()
    store = ConnectionStore(SecretBox(settings.secret_key))
    with write(make_engine(settings.database_url)) as conn:
        store.create(conn, name="good", connection_string=json.dumps({"database": str(good)}))
        bad = {"driver": "sqlite", "database": str(data_dir / "dbconnector.db")}
        store.create(conn, name="bad", connection_string=json.dumps(bad))
    result = runner.invoke(main, ["connections", "check"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and "\tbad\t" in lines[0] and SERVICE_FILE in lines[0]
    assert lines[-1] == "2 connections checked, 1 break a rule"
    assert str(data_dir) not in result.output
