"""The `dbconnector` command: db upgrade, users create/list/set-password, demo."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect

from dbconnector import create_app
from dbconnector.cli import main
from dbconnector.config import Settings
from dbconnector.store.db import make_engine
from dbconnector.store.seed import DEMO_TOKEN
from tests.support.app import Caller


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DBCONNECTOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DBCONNECTOR_BCRYPT_ROUNDS", "4")
    for name in ("DBCONNECTOR_DATABASE_URL", "DBCONNECTOR_SECRET_KEY", "DBCONNECTOR_DEMO"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str, input: str | None = None, ok: bool = True):  # type: ignore[no-untyped-def]
        result = runner.invoke(main, list(args), input=input, catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return result

    run("db", "upgrade")
    return run, tmp_path


def test_db_upgrade_creates_the_schema_and_is_idempotent(cli_env):
    run, data_dir = cli_env
    assert "up to date" in run("db", "upgrade").output
    engine = make_engine(f"sqlite:///{data_dir / 'dbconnector.db'}")
    assert {"users", "connections", "grants", "refresh_tokens", "alembic_version"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_users_create_list_and_set_password(cli_env):
    run, _ = cli_env
    created = run(
        "users",
        "create",
        "--username",
        "boss@example.org",
        "--role",
        "4096",
        input="First-Password-1\nFirst-Password-1\n",
    )
    assert "created user boss@example.org with id 1" in created.output
    listing = run("users", "list").output
    assert "boss@example.org" in listing and "role=4096" in listing
    assert "First-Password-1" not in listing and "$2b$" not in listing
    run("users", "set-password", "boss@example.org", input="Second-Password-2\nSecond-Password-2\n")
    app = create_app(Settings.from_env())
    caller = Caller(app.test_client())
    assert (
        caller.post(
            "/v1/auth", {"username": "boss@example.org", "password": "First-Password-1"}
        ).status_code
        == 401
    )
    assert caller.login("boss@example.org", "Second-Password-2").token


@pytest.mark.parametrize(
    "args, message",
    [
        (["--username", "x@y", "--role", "8"], "role must combine"),
        (["--username", "123", "--role", "1"], "username must not be all digits"),
    ],
)
def test_users_create_refuses_bad_input(cli_env, args, message):
    run, _ = cli_env
    result = run("users", "create", *args, input="Good-Password-1\nGood-Password-1\n", ok=False)
    assert message in result.output


def test_duplicate_user_is_refused(cli_env):
    run, _ = cli_env
    run("users", "create", "--username", "a@b", "--role", "1", input="Good-Password-1\n" * 2)
    result = run(
        "users",
        "create",
        "--username",
        "a@b",
        "--role",
        "1",
        input="Good-Password-1\n" * 2,
        ok=False,
    )
    assert "Username already exists." in result.output


def test_demo_seeds_the_specification_test_data_idempotently(cli_env):
    run, data_dir = cli_env
    run("demo")
    with sqlite3.connect(data_dir / "demo.db") as db:
        db.execute('DELETE FROM "testTable" WHERE "ID" = 8')
    run("demo")  # a second run keeps both the data and the user as they are
    with sqlite3.connect(data_dir / "demo.db") as db:
        assert db.execute('SELECT COUNT(*) FROM "testTable"').fetchone()[0] == 7
    run("demo", "--reset")
    with sqlite3.connect(data_dir / "demo.db") as db:
        assert db.execute('SELECT COUNT(*) FROM "testTable"').fetchone()[0] == 8

    app = create_app(Settings.from_env())
    dev = Caller(app.test_client()).login("devuser", "Boston2021")
    rows = dev.post(
        "/v1/select/sqlite", {"token": DEMO_TOKEN, "table": "testTable", "sort": ["ID"]}
    )
    assert [r["Name"] for r in rows.get_json()][:2] == ["David Upton", "Matt McGowan"]
    assert dev.get(f"/v1/users/{dev.userid}").get_json()[0]["Role"] == 4
    app.extensions["dbconnector"].engine.dispose()


def test_owner_from_the_environment_is_created_once(cli_env, monkeypatch):
    from dbconnector.store.seed import ensure_owner

    monkeypatch.setenv("DBCONNECTOR_OWNER_USERNAME", "root@city.gov")
    monkeypatch.setenv("DBCONNECTOR_OWNER_PASSWORD", "Owner-Password-9")
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    ensure_owner(engine, settings)
    monkeypatch.setenv("DBCONNECTOR_OWNER_PASSWORD", "Another-Password-0")
    ensure_owner(engine, Settings.from_env())  # an existing OWNER keeps its password
    engine.dispose()
    app = create_app(Settings.from_env())
    owner = Caller(app.test_client()).login("root@city.gov", "Owner-Password-9")
    assert owner.get("/v1/users/root@city.gov").get_json()[0]["Role"] == 4096
    app.extensions["dbconnector"].engine.dispose()


def test_worker_needs_a_broker_url(cli_env):
    run, _ = cli_env
    result = run("worker", "--burst", ok=False)
    assert "dbconnector worker needs DBCONNECTOR_JOB_BROKER_URL (redis://)" in result.output
