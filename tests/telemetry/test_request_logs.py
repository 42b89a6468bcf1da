"""One JSON line per request, audit lines for admin changes and statements, /admin/ready."""

from __future__ import annotations

import json
import logging

import pytest

from dbconnector.telemetry.requestlog import JsonFormatter
from tests.support.app import build_app

SECRET = "Very-Secret-Pa55word"
DB_PASSWORD = "db-credential-42"


@pytest.fixture
def lines(caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO)
    formatter = JsonFormatter()

    def read(logger: str | None = None) -> list[dict]:
        parsed = [json.loads(formatter.format(record)) for record in caplog.records]
        return [line for line in parsed if logger is None or line["logger"] == logger]

    return read


def test_each_request_logs_one_json_line_and_returns_its_request_id(env, lines):
    response = env.owner.get("/v1/users", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    [line] = [entry for entry in lines("dbconnector.request") if entry["request_id"] == "abc-123"]
    assert line["endpoint"] == "/v1/users" and line["method"] == "GET"
    assert line["status"] == 200 and line["user_id"] == env.owner.userid
    assert line["duration_ms"] >= 0 and line["level"] == "info" and line["ts"].endswith("Z")


@pytest.mark.parametrize("given", ["", "x" * 200, "bad id with spaces", "<script>"])
def test_an_unusable_request_id_is_replaced(env, given):
    response = env.client.get("/admin/ok", headers={"X-Request-ID": given})
    returned = response.headers["X-Request-ID"]
    assert returned != given and len(returned) == 32


def test_a_request_id_with_a_line_break_is_replaced(env):
    # Straight into the WSGI environ: the id is echoed as a header without werkzeug's checks.
    response = env.client.get("/admin/ok", environ_overrides={"HTTP_X_REQUEST_ID": "abc\n"})
    returned = response.headers["X-Request-ID"]
    assert "\n" not in returned and len(returned) == 32


def test_routes_not_paths_are_logged_so_conn_tokens_stay_out(env, lines, tmp_path):
    token = env.connection({"driver": "sqlite", "database": str(tmp_path / "nowhere.db")})
    env.owner.get(f"/v1/connections/{token}")
    text = json.dumps(lines())
    assert token not in text and token.lower() not in text
    assert "/v1/connections/<token>" in text


def test_admin_changes_are_audited_by_id_without_values(env, lines, tmp_path):
    created = env.owner.post(
        "/v1/users", {"username": "audited@example.org", "password": SECRET, "role": 1}
    )
    user_id = created.get_json()["id"]
    env.owner.patch(f"/v1/users/{user_id}", {"password": SECRET + "2", "ttl": "90s"})
    token = env.connection(
        {"driver": "sqlite", "database": str(tmp_path / "x.db"), "password": DB_PASSWORD}
    )
    env.owner.delete(f"/v1/users/{user_id}")
    audit = lines("dbconnector.audit")
    actions = [(line["action"], line.get("user_id")) for line in audit]
    assert ("user.create", user_id) in actions and ("user.delete", user_id) in actions
    update = next(line for line in audit if line["action"] == "user.update")
    assert update["fields"] == ["password", "ttl"] and update["actor_id"] == env.owner.userid
    assert any(line["action"] == "connection.create" for line in audit)
    everything = json.dumps(lines())
    for secret in (SECRET, DB_PASSWORD, token, env.owner.token):
        assert secret not in everything


def test_statements_are_audited_by_shape_never_by_value(env, lines, tmp_path):
    import sqlite3

    path = tmp_path / "t.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO people (name) VALUES ('Alice Secretname')")
    token = env.connection({"driver": "sqlite", "database": str(path)}, name="people-db")
    body = {"token": token, "table": "people", "filter": [{"name": "Alice Secretname"}]}
    rows = env.owner.post("/v1/select/sqlite", body).get_json()
    assert rows == [{"id": 1, "name": "Alice Secretname"}]
    [statement] = [
        line for line in lines("dbconnector.audit") if line["action"] == "execute.select"
    ]
    assert statement["connection"] == "people-db"
    assert statement["shape"] == {
        "table": "people",
        "fields": None,
        "filter_keys": ["name"],
        "sort": None,
        "limit": None,
        "page": None,
    }
    [request_line] = [
        line for line in lines("dbconnector.request") if line["endpoint"] == "/v1/select/<driver>"
    ]
    assert request_line["rows"] == 1 and request_line["connection"] == "people-db"
    assert "Secretname" not in json.dumps(lines())


def test_a_failed_statement_is_logged_by_connection_name_not_token(env, caplog, tmp_path):
    import sqlite3

    path = tmp_path / "t.db"
    sqlite3.connect(path).close()
    token = env.connection({"driver": "sqlite", "database": str(path)}, name="empty-db")
    caplog.set_level(logging.INFO)
    answer = env.owner.post("/v1/query/sqlite", {"token": token, "statement": "SELECT * FROM nope"})
    assert answer.get_json() == {"error": "no such table: nope"}
    [line] = [r.getMessage() for r in caplog.records if "statement failed" in r.getMessage()]
    assert "'empty-db'" in line and "no such table: nope" in line
    assert token not in caplog.text and token.lower() not in caplog.text


def test_ready_when_the_metadata_database_answers(env):
    response = env.client.get("/admin/ready")
    assert response.status_code == 200 and response.get_json() == {"metadata": "ok"}


def test_not_ready_names_the_dependency_that_is_down(tmp_path, migrated_template):
    app = build_app(tmp_path, migrated_template, ratelimit_storage_url="redis://127.0.0.1:1/0")
    response = app.test_client().get("/admin/ready")
    assert response.status_code == 503
    assert response.get_json() == {
        "error": "Not ready",
        "metadata": "ok",
        "ratelimit_storage": "unavailable",
    }
    assert app.test_client().get("/admin/ok").status_code == 200  # the heartbeat stays up


def test_not_ready_without_the_metadata_database(tmp_path):
    from dbconnector import create_app
    from tests.support.app import make_settings

    settings = make_settings(tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    client = create_app(settings).test_client()
    response = client.get("/admin/ready")
    assert response.status_code == 503
    assert response.get_json() == {"error": "Not ready", "metadata": "unavailable"}
    assert "127.0.0.1" not in response.get_data(as_text=True)
    assert client.get("/admin/ok").get_json() == {}


def test_gunicorns_own_lines_still_format_after_the_app_configures_logging(env):
    """configure_logging's speed switches are process-wide; gunicorn's worker-side lines
    ("Worker exiting", "Error handling request") print %(process)d and must still format."""
    import os

    from gunicorn.glogging import Logger

    record = logging.getLogger("gunicorn.error").makeRecord(
        "gunicorn.error", logging.INFO, __file__, 1, "Worker exiting (pid: %s)", (42,), None
    )
    line = logging.Formatter(Logger.error_fmt, Logger.datefmt).format(record)
    assert line.endswith(f"[{os.getpid()}] [INFO] Worker exiting (pid: 42)")
    assert logging.Formatter("%(thread)d %(threadName)s").format(record).split()[0].isdigit()
