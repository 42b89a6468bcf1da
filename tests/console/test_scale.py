"""10,000 users and 1,000 connections: every list and search page costs the same few SQL
statements as with a handful (a page reads its rows and a count, never a statement per row)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, insert

from dbconnector.store.db import utcnow, write
from dbconnector.store.tables import users
from dbconnector.store.users import new_token_stamp

PAGES = [
    "/console/users",
    "/console/users?page=150",
    "/console/users?q=user0999",
    "/console/connections",
    "/console/connections?page=15",
    "/console/connections?q=conn099",
    "/console/jobs",
    "/console/audit",
    "/console/dashboard",
]
# The session's read, its user and its touch (each with SQLite's BEGIN) are 6; a list page adds
# its rows and their count, the dashboard its five counts and latest failures.
MOST_STATEMENTS = 12


def _fill(env, how_many_users: int, how_many_connections: int) -> None:  # type: ignore[no-untyped-def]
    svc = env.services
    now = utcnow()
    rows = [
        {
            "username": f"user{number:05d}@example.org",
            "password_hash": "$2b$04$" + "x" * 53,
            "ipaddresses": "",
            "enabled": True,
            "role": 1,
            "ttl": "",
            "token_stamp": new_token_stamp(),
            "created_at": now,
            "updated_at": now,
        }
        for number in range(how_many_users)
    ]
    with write(svc.engine) as conn:
        if rows:
            conn.execute(insert(users), rows)
        for number in range(how_many_connections):
            svc.connections.create(
                conn,
                name=f"conn{number:04d}",
                connection_string='{"driver": "postgresql", "host": "db.internal"}',
            )


@contextmanager
def _counted(engine) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _statements_per_page(env, browser) -> dict[str, int]:  # type: ignore[no-untyped-def]
    counts = {}
    for path in PAGES:
        with _counted(env.services.engine) as statements:
            answer = browser.get(path)
        assert answer.status_code == 200, path
        counts[path] = len(statements)
    return counts


def test_pages_cost_the_same_statements_with_ten_thousand_users(make_env, console_as):
    small, large = make_env(), make_env()
    _fill(small, 20, 5)
    _fill(large, 10_000, 1_000)
    few = _statements_per_page(small, console_as(small))
    many = _statements_per_page(large, console_as(large))
    assert many == few
    assert max(many.values()) <= MOST_STATEMENTS, many
    page = console_as(large).get("/console/users?q=user0999").get_data(as_text=True)
    assert "10 users matching" in page and "user09990@example.org" in page
    listed = console_as(large).get("/console/connections?page=15").get_data(as_text=True)
    assert "1000 connections." in listed and ">conn0750</a>" in listed
