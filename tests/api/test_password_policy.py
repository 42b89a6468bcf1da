"""Password policy: configurable bcrypt cost (old costs keep working and are upgraded at login),
and a configurable minimum length (with a maximum) for new users and password changes, through
the API and the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from dbconnector.cli import main
from dbconnector.lib.roles import Role
from dbconnector.store.seed import DEMO_PASSWORD
from dbconnector.store.tables import users


def stored_hash(env, user_id: int) -> str:
    with env.services.engine.connect() as conn:
        return conn.execute(select(users.c.password_hash).where(users.c.id == user_id)).scalar()


def test_new_hashes_use_the_configured_cost(make_env):
    env = make_env(bcrypt_rounds=5)
    user = env.user(Role.READ)
    assert stored_hash(env, user.userid).startswith("$2b$05$")


def test_a_hash_of_another_cost_still_verifies_and_is_upgraded_at_login(env):
    user = env.user(Role.READ, username="old-cost@example.org")
    old = stored_hash(env, user.userid)
    assert old.startswith("$2b$04$")
    env.services.settings = env.services.settings.replace(bcrypt_rounds=5)
    assert env.anon.login("old-cost@example.org", "User-Password-1").token
    upgraded = stored_hash(env, user.userid)
    assert upgraded.startswith("$2b$05$") and upgraded != old
    assert env.anon.login("old-cost@example.org", "User-Password-1").token
    assert stored_hash(env, user.userid) == upgraded  # no rehash once the cost matches
    wrong = env.anon.post(
        "/v1/auth", {"username": "old-cost@example.org", "password": "Not-The-Password"}
    )
    assert wrong.status_code == 401 and stored_hash(env, user.userid) == upgraded


@pytest.mark.parametrize(
    "minimum, password, ok",
    [
        (8, "x" * 7, False),
        (8, "x" * 8, True),
        (8, DEMO_PASSWORD, True),  # the specification's demo password, 10 characters
        (8, "x" * 1024, True),
        (8, "x" * 1025, False),
        (12, DEMO_PASSWORD, False),
        (12, "x" * 12, True),
    ],
)
def test_minimum_and_maximum_length_on_create_and_change(make_env, minimum, password, ok):
    env = make_env(min_password_length=minimum)
    error = {"error": f"password must be {minimum} to 1024 characters"}
    body = {"username": "len@example.org", "password": password, "role": 1}
    created = env.owner.post("/v1/users", body)
    if ok:
        assert created.status_code == 201
        assert env.anon.login("len@example.org", password).token
    else:
        assert created.status_code == 400 and created.get_json() == error
        listed = [user["Username"] for user in env.owner.get("/v1/users").get_json()]
        assert "len@example.org" not in listed
    user = env.user(Role.READ, password="Long-Enough-Password")
    changed = env.owner.patch(f"/v1/users/{user.userid}", {"password": password})
    if ok:
        assert changed.status_code == 200 and changed.get_json() == {}
        assert env.anon.login(user.username, password).token
    else:
        assert changed.status_code == 400 and changed.get_json() == error
        assert env.anon.login(user.username, "Long-Enough-Password").token


def test_cli_applies_the_configured_minimum(tmp_path, monkeypatch):
    monkeypatch.setenv("DBCONNECTOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DBCONNECTOR_BCRYPT_ROUNDS", "4")
    monkeypatch.setenv("DBCONNECTOR_MIN_PASSWORD_LENGTH", "12")
    for name in ("DBCONNECTOR_DATABASE_URL", "DBCONNECTOR_SECRET_KEY", "DBCONNECTOR_DEMO"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    create = ["users", "create", "--username", "cli@example.org", "--role", "1"]
    short = runner.invoke(main, create, input="Short-Pass1\nShort-Pass1\n")
    assert short.exit_code != 0
    assert "password must be 12 to 1024 characters" in short.output
    assert runner.invoke(main, ["users", "list"]).output.count("cli@example.org") == 0
    made = runner.invoke(main, create, input="Long-Password-12\nLong-Password-12\n")
    assert made.exit_code == 0, made.output
    reset = runner.invoke(
        main, ["users", "set-password", "cli@example.org"], input="Short-Pass1\nShort-Pass1\n"
    )
    assert reset.exit_code != 0
    assert "password must be 12 to 1024 characters" in reset.output
