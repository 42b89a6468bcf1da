"""SQLite targets refuse the functions that hand out or take native pointers, load code or reach
files: a FULL user must not crash a worker (or run code in it) through fts3_tokenizer."""

from __future__ import annotations

import pytest

from dbconnector.auth.roles import Role
from dbconnector.drivers.sqlite import DENIED_MESSAGE
from dbconnector.store.seed import DEMO_PASSWORD, DEMO_TOKEN, DEMO_USERNAME, build_demo_target

CRASH = (
    "SELECT fts3_tokenizer('evil', x'4141414141414141'); "
    "CREATE VIRTUAL TABLE t USING fts3(c, tokenize=evil)"
)


@pytest.mark.parametrize(
    ("function", "statement"),
    [
        ("fts3_tokenizer", "SELECT fts3_tokenizer('simple') AS p"),
        ("FTS3_TOKENIZER", CRASH.replace("fts3_tokenizer", "FTS3_TOKENIZER")),
        ("fts5", "SELECT fts5(NULL) AS p"),
        ("load_extension", "SELECT load_extension('libsqlite3.so.0') AS p"),
    ],
)
def test_each_denied_function_answers_400(env, tmp_path, function, statement):
    # readfile, writefile and edit are denied too, but this library (the sqlite3 shell's
    # functions) does not define them: they answer "no such function" before any authorizer.
    target = tmp_path / "t.db"
    build_demo_target(target)
    token = env.connection({"driver": "sqlite", "database": str(target)})
    user = env.user(Role.FULL)
    env.grant(token, user)
    answer = user.post("/v1/query/sqlite", {"token": token, "statement": statement})
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json() == {
        "error": f"not authorized to use function: {function} ({DENIED_MESSAGE})"
    }
    still = user.post("/v1/query/sqlite", {"token": token, "statement": "SELECT 1 AS one"})
    assert still.get_json() == [{"one": 1}]


def test_writable_schema_is_refused(env, tmp_path):
    target = tmp_path / "t.db"
    build_demo_target(target)
    token = env.connection({"driver": "sqlite", "database": str(target)})
    statement = "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = 'x'"
    answer = env.owner.post("/v1/query/sqlite", {"token": token, "statement": statement})
    assert answer.status_code == 400
    assert answer.get_json() == {"error": f"not authorized ({DENIED_MESSAGE})"}
    rows = env.owner.post("/v1/select/sqlite", {"token": token, "table": "testTable"})
    assert len(rows.get_json()) == 8


def test_the_crash_reproduction_leaves_the_served_worker_alive(served):
    service = served()
    workers = service.workers()
    token = service.login(DEMO_USERNAME, DEMO_PASSWORD)
    status, body = service.call(
        "POST", "/v1/query/sqlite", {"token": DEMO_TOKEN, "statement": CRASH}, token
    )
    assert status == 400
    assert body == {"error": f"not authorized to use function: fts3_tokenizer ({DENIED_MESSAGE})"}
    status, pointer = service.call(
        "POST",
        "/v1/query/sqlite",
        {"token": DEMO_TOKEN, "statement": "SELECT fts3_tokenizer('simple') AS p"},
        token,
    )
    assert status == 400 and "fts3_tokenizer" in pointer["error"]
    assert service.call("GET", "/admin/ok") == (200, {})
    status, rows = service.call(
        "POST", "/v1/select/sqlite", {"token": DEMO_TOKEN, "table": "testTable"}, token
    )
    assert status == 200 and len(rows) == 8
    assert service.workers() == workers  # the same process answered: none died and was replaced
