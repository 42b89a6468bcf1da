"""The Connections pages: a form per driver instead of a JSON string, the stored password never
shown (an empty one keeps it), "Test connection", delete after confirming, grants, and the rules
on targets."""

from __future__ import annotations

import json
import re

import pytest

from dbconnector.lib.roles import Role
from dbconnector.store.seed import build_demo_target
from tests.support.live import POSTGRES_URL, require

SECRET = "Pg-Stored-Secret-9"  # a stored password that must never be shown


def _stored(env, token):  # type: ignore[no-untyped-def]
    row = env.owner.get(f"/v1/connection/{token}").get_json()[0]
    return row, json.loads(row["ConnectionString"])


def _form(**fields):  # type: ignore[no-untyped-def]
    base = {
        "name": "pg",
        "driver": "postgresql",
        "host": "db.internal",
        "port": "5432",
        "database": "city",
        "user": "svc",
        "password": SECRET,
        "schema": "",
        "options": "connect_timeout=2\nsslmode=prefer",
        "description": "the city's data",
        "enabled": "1",
    }
    return {**base, **fields}


def test_create_and_edit_through_the_form_keep_the_password_unseen(env, console_as):
    browser = console_as(env)
    form = browser.get("/console/connections/new?driver=postgresql").get_data(as_text=True)
    for label in ("Name", "Driver", "Host", "Port", "Database", "User", "Description"):
        assert re.search(rf'<label for="[\w-]+">{label}</label>', form), label
    made = browser.post("/console/connections/new", _form())
    assert made.status_code == 303, made.get_data(as_text=True)
    token = made.headers["Location"].rsplit("/", 1)[1]
    row, spec = _stored(env, token)
    assert spec == {
        "driver": "postgresql",
        "host": "db.internal",
        "port": 5432,
        "database": "city",
        "user": "svc",
        "password": SECRET,
        "options": {"connect_timeout": 2, "sslmode": "prefer"},
    }
    assert (row["Name"], row["Description"], row["Enabled"]) == ("pg", "the city's data", True)

    page = browser.get(made.headers["Location"]).get_data(as_text=True)
    assert SECRET not in page and 'value="db.internal"' in page and "sslmode=prefer" in page
    edit = _form(password="", host="db2.internal", description="moved")
    del edit["enabled"]
    assert browser.post(f"/console/connections/{token}", edit).status_code == 303
    row, spec = _stored(env, token)
    assert spec["password"] == SECRET and spec["host"] == "db2.internal"
    assert (row["Description"], row["Enabled"]) == ("moved", False)
    assert browser.post(f"/console/connections/{token}", _form(password="New-9")).status_code == 303
    assert _stored(env, token)[1]["password"] == "New-9"

    audit = browser.get("/console/audit?action=connection.").get_data(as_text=True)
    assert "<td>connection.create</td>" in audit and "<td>connection.update</td>" in audit
    assert SECRET not in audit and "New-9" not in audit


def test_a_password_never_appears_in_any_pages_html(env, console_as, tmp_path):
    user = env.user(Role.READ, username="reader@example.org", password="Reader-Secret-77")
    browser = console_as(env)
    made = browser.post("/console/connections/new", _form())
    token = made.headers["Location"].rsplit("/", 1)[1]
    browser.post(f"/console/connections/{token}/grants", {"grantee": "reader@example.org"})
    browser.post(f"/console/connections/{token}/test")
    browser.post("/console/connections/new", _form(name="pg", password="Dup-Secret-55"))  # refused
    pages = [
        "/console/dashboard",
        "/console/users",
        f"/console/users/{user.userid}",
        "/console/connections",
        f"/console/connections/{token}",
        f"/console/connections/{token}/delete",
        "/console/jobs",
        "/console/audit",
    ]
    for path in pages:
        html = browser.get(path).get_data(as_text=True)
        for secret in (SECRET, "Reader-Secret-77", "Dup-Secret-55", "Owner-Password-1"):
            assert secret not in html, (path, secret)
    refused = browser.post("/console/connections/new", _form(name="pg", password="Dup-Secret-55"))
    assert refused.status_code == 400 and "Dup-Secret-55" not in refused.get_data(as_text=True)


def test_test_connection_shows_ok_for_the_live_postgresql(env, console_as):
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    require(
        "PostgreSQL",
        lambda: (
            __import__("psycopg")
            .connect(
                host=url.host,
                port=url.port,
                user=url.username,
                dbname=url.database,
                connect_timeout=3,
            )
            .close()
        ),
    )
    browser = console_as(env)
    form = _form(host=url.host, port=str(url.port), database=url.database, user=url.username)
    form["password"] = url.password or ""
    token = browser.post("/console/connections/new", form).headers["Location"].rsplit("/", 1)[1]
    tested = browser.post(f"/console/connections/{token}/test").get_data(as_text=True)
    assert "Test connection: ok" in tested


def test_test_connection_shows_the_scrubbed_failure(env, console_as):
    browser = console_as(env)
    form = _form(host="127.0.0.1", port="9", database="nowhere", user="svc-user-name")
    token = browser.post("/console/connections/new", form).headers["Location"].rsplit("/", 1)[1]
    tested = browser.post(f"/console/connections/{token}/test")
    html = tested.get_data(as_text=True)
    assert tested.status_code == 200
    assert (
        "Test connection: Cannot connect to the target database: the connection was refused" in html
    )
    assert "svc-user-name" not in html.split("Test connection:")[1].split("</p>")[0]


def test_a_sqlite_form_and_the_rules_on_targets(env, console_as, tmp_path):
    browser = console_as(env)
    form = browser.get("/console/connections/new?driver=sqlite").get_data(as_text=True)
    assert 'id="host"' not in form and 'id="database"' in form
    target = tmp_path / "targets" / "demo.db"
    build_demo_target(target)
    made = browser.post(
        "/console/connections/new",
        {"name": "lite", "driver": "sqlite", "database": str(target), "enabled": "1"},
    )
    assert made.status_code == 303
    token = made.headers["Location"].rsplit("/", 1)[1]
    assert _stored(env, token)[1] == {"driver": "sqlite", "database": str(target)}
    assert "Test connection: ok" in browser.post(f"/console/connections/{token}/test").get_data(
        as_text=True
    )
    metadata = env.app.config["DBC_SETTINGS"].database_url.removeprefix("sqlite:///")
    refused = browser.post(
        "/console/connections/new",
        {"name": "own-data", "driver": "sqlite", "database": metadata, "enabled": "1"},
    )
    assert refused.status_code == 400
    names = [row["Name"] for row in env.owner.get("/v1/connections").get_json()]
    assert names == ["lite"]


@pytest.mark.parametrize("confirmed", [False, True])
def test_delete_asks_first(env, console_as, confirmed):
    token = env.connection(name="doomed")
    browser = console_as(env)
    page = browser.get(f"/console/connections/{token}/delete").get_data(as_text=True)
    assert "Delete connection doomed and every grant on it?" in page and "<script" not in page
    if confirmed:
        assert browser.post(f"/console/connections/{token}/delete").status_code == 303
    names = [row["Name"] for row in env.owner.get("/v1/connections").get_json()]
    assert names == ([] if confirmed else ["doomed"])


def test_grants_on_a_connections_page(env, console_as):
    user = env.user(Role.READ, username="reader@example.org")
    token = env.connection(name="sales")
    browser = console_as(env)
    assert (
        browser.post(
            f"/console/connections/{token}/grants", {"grantee": "reader@example.org"}
        ).status_code
        == 303
    )
    page = browser.get(f"/console/connections/{token}").get_data(as_text=True)
    assert ">reader@example.org</a>" in page and "<td>READ</td>" in page
    assert (
        browser.get(f"/console/users/{user.userid}").get_data(as_text=True).count(">sales</a>") == 1
    )
    unknown = browser.post(f"/console/connections/{token}/grants", {"grantee": "nobody"})
    assert unknown.status_code == 400
    revoked = browser.post(f"/console/connections/{token}/grants/{user.userid}/revoke")
    assert revoked.status_code == 303
    assert env.owner.get(f"/v1/connection/{token}/users").get_json() == []
    audit = browser.get("/console/audit?action=grant.").get_data(as_text=True)
    assert "<td>grant.add</td>" in audit and "<td>grant.remove</td>" in audit


def test_the_list_shows_driver_use_and_searches(env, console_as):
    env.connection({"driver": "mysql", "host": "db.internal"}, name="alpha")
    env.connection({"host": "db.internal"}, name="beta")
    browser = console_as(env)
    page = browser.get("/console/connections").get_data(as_text=True)
    assert "2 connections." in page and "<td>MySQL / MariaDB</td>" in page and "<td>—</td>" in page
    assert "never" in page
    found = browser.get("/console/connections?q=alp").get_data(as_text=True)
    assert "1 connection matching" in found and ">alpha</a>" in found and ">beta</a>" not in found
