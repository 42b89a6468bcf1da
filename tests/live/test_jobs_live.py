"""Async jobs against real databases: SQLite, the local PostgreSQL and MariaDB (SQL Server when
DBCONNECTOR_TEST_MSSQL is set). Rows and values match the synchronous endpoints exactly, column
types are the database's own, and a cancel stops the statement at the database."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.execution.conftest import Jobs
from tests.live.test_execute_endpoints import backend, backend_server  # noqa: F401 - fixtures
from tests.support.backends import Backend

UID = "45826be6-1e29-cc64-b49e-550b9610c2ea"
FIELDS = ["id", "dec", "day", "at", "flag", "uid", "bin", "f", "txt"]
# Per database: each `kinds` column's type name and JSON format in a job's results.
words = str.split  # one type or format per `kinds` column, in FIELDS order
TYPES = {
    "postgresql": words("int4 numeric date timestamp bool uuid bytea float8 text"),
    "mysql": words("int decimal date datetime tinyint char varbinary double text"),
    "sqlite": words("INTEGER REAL TEXT TEXT INTEGER TEXT BLOB REAL TEXT"),
    # pymssql reports only its DB-API type groups (drivers/mssql.py).
    "mssql": words("int decimal datetime2 datetime2 int nvarchar varbinary int nvarchar"),
}
FORMATS = {
    "postgresql": words("integer number date timestamp boolean uuid binary number string"),
    "mysql": words("integer number date timestamp integer string binary number string"),
    "sqlite": words("integer number string string integer string binary number string"),
}
FORMATS["mssql"] = FORMATS["postgresql"]
_DIGITS = "(" + " UNION ALL ".join(f"SELECT {d} AS d" for d in range(10)) + ")"
COUNTED = {
    "postgresql": "SELECT g AS n FROM generate_series(1, 2500) AS g",
    # MySQL stops recursive CTEs at 1,000 rows by default: four digit tables instead.
    "mysql": "SELECT * FROM (SELECT a.d * 1000 + b.d * 100 + c.d * 10 + e.d + 1 AS n "
    f"FROM {_DIGITS} a, {_DIGITS} b, {_DIGITS} c, {_DIGITS} e) t WHERE n <= 2500 ORDER BY n",
    "mssql": "SELECT TOP 2500 ROW_NUMBER() OVER (ORDER BY (SELECT 1)) AS n "
    "FROM sys.all_objects a CROSS JOIN sys.all_objects b",
}
RECURSIVE = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 2500) SELECT n FROM c"
)


@pytest.fixture
def live_jobs(make_env, backend: Backend):  # type: ignore[no-untyped-def] # noqa: F811
    """A served app with one job worker thread and a connection to the backend."""
    env = make_env(job_workers=1)
    token = env.connection(backend.connection, name=f"jobs-{backend.name}")
    yield Jobs(env, token, backend.name)
    env.services.jobs.stop()


def _insert_kinds(db: Backend) -> None:
    exact = "12.5" if db.name == "sqlite" else "1234567890123456789.0123456789"
    binary = {"postgresql": "'\\x00ff41'::bytea", "mssql": "0x00FF41"}.get(db.name, "X'00FF41'")
    uid = f"'{UID}'"
    flag = "TRUE" if db.name in ("postgresql", "mysql", "sqlite") else "1"
    with db.engine.begin() as conn:
        columns = ", ".join(db.ident(name) for name in FIELDS)
        conn.exec_driver_sql(
            f"INSERT INTO {db.ident('kinds')} ({columns}) VALUES (1, {exact}, "
            f"'2021-08-10', '2021-08-10 19:30:20.16', {flag}, {uid}, {binary}, 1.5, 'héllo ✓')"
        )


def test_a_select_job_has_the_synchronous_rows_and_the_databases_types(live_jobs, backend):  # noqa: F811
    _insert_kinds(backend)
    job_id = live_jobs.submit("select", table="kinds", fields=FIELDS)
    assert live_jobs.wait_for(job_id, "succeeded", "failed")["status"] == "succeeded"
    owner = live_jobs.env.owner
    synchronous = owner.post(
        f"/v1/select/{backend.name}", {"token": live_jobs.token, "table": "kinds", "fields": FIELDS}
    )
    page = owner.get(f"/v1/jobs/{job_id}/results/0")
    # Byte for byte the synchronous encoding: exact decimals, base64 binary, ISO times.
    assert page.get_data().split(b'"rows":', 1)[1].startswith(synchronous.get_data())
    columns = page.get_json()["columns"]
    assert [c["name"] for c in columns] == FIELDS
    assert [c["type"] for c in columns] == TYPES[backend.name]
    assert [c["format"] for c in columns] == FORMATS[backend.name]


def test_pages_cross_the_stored_page_boundary(live_jobs, backend):  # noqa: F811
    job_id = live_jobs.submit("query", statement=COUNTED.get(backend.name, RECURSIVE))
    job = live_jobs.wait_for(job_id, "succeeded", "failed")
    assert (job["status"], job["rows"]) == ("succeeded", 2500)
    page = live_jobs.env.owner.get(f"/v1/jobs/{job_id}/results/0?offset=990&limit=20").get_json()
    assert [int(row["n"]) for row in page["rows"]] == list(range(991, 1011))
    assert page["total"] == 2500
    assert page["next"] == f"/v1/jobs/{job_id}/results/0?offset=1010&limit=20"
    as_csv = live_jobs.env.owner.get(f"/v1/jobs/{job_id}/results/0?format=csv")
    lines = as_csv.get_data(as_text=True).split("\r\n")
    assert lines[0] == "n" and lines[1] == "1" and lines[2500] == "2500" and lines[2501] == ""


def _running(db: Backend, marker: str) -> list[Any]:
    """The statements containing `marker` the database is running now (but this query)."""
    if db.name == "postgresql":
        sql = (
            "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE %(m)s "
            "AND pid <> pg_backend_pid()"
        )
        return db.rows_with(sql, {"m": f"%{marker}%"})
    if db.name == "mysql":
        sql = (
            "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE %(m)s "
            "AND ID <> CONNECTION_ID()"
        )
        return db.rows_with(sql, {"m": f"%{marker}%"})
    if db.name == "mssql":
        sql = (
            "SELECT r.session_id FROM sys.dm_exec_requests r "
            "CROSS APPLY sys.dm_exec_sql_text(r.sql_handle) t "
            "WHERE t.text LIKE %(m)s AND r.session_id <> @@SPID"
        )
        return db.rows_with(sql, {"m": f"%{marker}%"})
    return []


def _slow(db: Backend, marker: str) -> str:
    return (
        f"{db.sleep_sql(60)} /* {marker} */"
        if db.name != "sqlite"
        else (f"{db.sleep_sql(60)} -- {marker}")
    )


def _started(live_jobs: Jobs, db: Backend, job_id: str, marker: str) -> None:
    live_jobs.wait_for(job_id, "running")
    if db.name == "sqlite":
        return  # nothing to look at from outside; its interrupt is what the cancel calls
    deadline = time.monotonic() + 20
    while not _running(db, marker):
        assert time.monotonic() < deadline, "the statement never showed at the database"
        time.sleep(0.05)


def test_a_slow_query_is_cancelled_at_the_database(live_jobs, backend):  # noqa: F811
    marker = f"dbc-job-cancel-{backend.name}"
    job_id = live_jobs.submit("query", statement=_slow(backend, marker))
    _started(live_jobs, backend, job_id, marker)
    asked = time.monotonic()
    answer = live_jobs.env.owner.post(f"/v1/jobs/{job_id}/cancel")
    assert (answer.status_code, answer.get_json()) == (200, {"status": "cancelled"})
    job = live_jobs.wait_for(job_id, "cancelled", "failed", "succeeded")
    assert job["status"] == "cancelled" and job["error"] is None
    assert not _running(backend, marker)  # no longer running at the database
    assert time.monotonic() - asked < 15  # far short of the statement's 60 s


def test_a_cancelled_batch_commits_nothing(live_jobs, backend):  # noqa: F811
    marker = f"dbc-job-batch-{backend.name}"
    table, name = backend.ident("testTable"), backend.ident("Name")
    statement = f"INSERT INTO {table} ({name}) VALUES ('never kept'); {_slow(backend, marker)}"
    job_id = live_jobs.submit("query", statement=statement)
    _started(live_jobs, backend, job_id, marker)
    assert live_jobs.env.owner.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
    assert live_jobs.wait_for(job_id, "cancelled", "failed", "succeeded")["status"] == "cancelled"
    assert backend.count() == 8


def test_an_exec_job_returns_its_outputs(live_jobs, backend):  # noqa: F811
    body = {
        "procname": "add_person",
        "params": {"person_age": 40, "person_name": "Zoe"},
        "output": {"greeting": "varchar", "new_id": "number"},
    }
    if backend.name == "sqlite":
        refused = live_jobs.post("exec", **body)
        assert refused.get_json() == {"error": "The sqlite driver has no stored procedures"}
        return
    job_id = live_jobs.submit("exec", **body)
    assert live_jobs.wait_for(job_id, "succeeded", "failed")["status"] == "succeeded"
    results = live_jobs.env.owner.get(f"/v1/jobs/{job_id}/results").get_json()
    assert results["output"] == {"greeting": "Hello Zoe", "new_id": 9}
    expected = 0 if backend.name == "postgresql" else 2
    assert len(results["resultSets"]) == expected
    assert backend.count() == 9


def test_a_statement_error_is_the_synchronous_endpoints(live_jobs, backend):  # noqa: F811
    statement = "SELECT * FROM no_such_table_here"
    synchronous = live_jobs.env.owner.post(
        f"/v1/query/{backend.name}", {"token": live_jobs.token, "statement": statement}
    )
    job_id = live_jobs.submit("query", statement=statement)
    job = live_jobs.wait_for(job_id, "failed", "succeeded")
    assert job["error"] == synchronous.get_json()["error"]
