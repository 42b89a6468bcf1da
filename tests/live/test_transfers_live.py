"""Transfers between every pair of SQLite, PostgreSQL and MariaDB, in all three modes: the rows and
their types arrive exactly, and a failure in batch 3 or a cancel half way leaves the target as it
was (append: no new rows; create: no table; replace: the old rows)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from dbconnector.drivers.transfer_values import TO_MYSQL, TO_SQLITE, adapt_rows
from tests.live.test_jobs_live import _running
from tests.support import transfers
from tests.support.app import Env
from tests.support.backends import Backend, MySQLBackend, PostgresBackend, SQLiteBackend
from tests.support.transfers import transfer_body

pytestmark = pytest.mark.live

NAMES = ("sqlite", "postgresql", "mysql")
SHORT = {"sqlite": "sqlite", "postgresql": "pg", "mysql": "mariadb"}
PAIRS = [
    pytest.param((source, target), id=f"{SHORT[source]}-{SHORT[target]}")
    for source in NAMES
    for target in NAMES
]
MODES = ("append", "create", "replace")
COLUMNS = ["id", "dec", "day", "at", "flag", "uid", "bin", "txt"]
KINDS_DDL = {  # one type a column, in COLUMNS order
    "postgresql": "INTEGER PRIMARY KEY; NUMERIC(20, 6); DATE; TIMESTAMP; BOOLEAN; UUID; BYTEA; "
    "VARCHAR(50)",
    "mysql": "INTEGER PRIMARY KEY; DECIMAL(20, 6); DATE; DATETIME(6); BOOLEAN; CHAR(36); "
    "VARBINARY(64); VARCHAR(50)",
    "sqlite": "INTEGER PRIMARY KEY; TEXT; DATE; TIMESTAMP; BOOLEAN; VARCHAR(36); BLOB; VARCHAR(50)",
}
ROWS = [
    (
        1,
        Decimal("12345678901234.123456"),
        dt.date(2021, 8, 10),
        dt.datetime(2021, 8, 10, 19, 30, 20, 160000),
        True,
        uuid.UUID("45826be6-1e29-cc64-b49e-550b9610c2ea"),
        b"\x00\xffA",
        "héllo ✓",
    ),
    (
        2,
        Decimal("-0.000001"),
        dt.date(1999, 12, 31),
        dt.datetime(2000, 1, 1),
        False,
        uuid.UUID("00000000-0000-0000-0000-000000000001"),
        b"",
        "x'); DROP TABLE t; --",
    ),
    (3, None, None, None, None, None, None, None),
]
OLD_ROWS = [(1000, None, None, None, None, None, None, "old"), (1001, *[None] * 6, "old too")]
WRITE_ADAPTERS = {"sqlite": TO_SQLITE, "mysql": TO_MYSQL, "postgresql": {}}


class Side:
    """One side's database and its stored connection; tables get names of their own."""

    def __init__(self, env: Env, db: Backend, label: str) -> None:
        self.env, self.db, self.name = env, db, db.name
        self.token = env.connection(db.connection, name=f"{label}-{db.name}")
        self.suffix = uuid.uuid4().hex[:8]

    def table(self, stem: str) -> str:
        return f"{stem}_{self.suffix}"

    def q(self, name: str) -> str:
        return self.db.ident(name)

    def create(self, table: str, columns: list[str], types: str) -> None:
        definition = ", ".join(
            f"{self.q(c)} {t.strip()}" for c, t in zip(columns, types.split("; "), strict=True)
        )
        self.execute(f"CREATE TABLE {self.q(table)} ({definition})")

    def insert(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        names = ", ".join(self.q(c) for c in columns)
        marks = ", ".join(f":p{i}" for i in range(len(columns)))
        values = adapt_rows(WRITE_ADAPTERS[self.name], rows)
        with self.db.engine.begin() as conn:
            conn.execute(
                text(f"INSERT INTO {self.q(table)} ({names}) VALUES ({marks})"),
                [{f"p{i}": v for i, v in enumerate(row)} for row in values],
            )

    def execute(self, sql: str) -> None:
        with self.db.engine.begin() as conn:
            conn.exec_driver_sql(sql)

    def rows(self, table: str, columns: list[str]) -> list[tuple]:
        names = ", ".join(self.q(c) for c in columns)
        return self.db.rows(f"SELECT {names} FROM {self.q(table)} ORDER BY {self.q('id')}")

    def exists(self, table: str) -> bool:
        from sqlalchemy import inspect

        with self.db.engine.connect() as conn:
            return inspect(conn).has_table(table)

    def column_types(self, table: str) -> dict[str, str]:
        if self.name == "postgresql":
            sql = (
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = to_regclass(%(t)s) AND attnum > 0 AND NOT attisdropped"
            )
            return dict(self.db.rows_with(sql, {"t": f'"{table}"'}))
        if self.name == "mysql":
            sql = (
                "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %(t)s"
            )
            return {name: str(kind) for name, kind in self.db.rows_with(sql, {"t": table})}
        return {row[1]: row[2] for row in self.db.rows(f"PRAGMA table_info({self.q(table)})")}


@pytest.fixture
def databases(request, tmp_path: Path) -> Iterator[Callable[[str, str], Backend]]:  # type: ignore[no-untyped-def]
    made: list[Backend] = []

    def make(name: str, label: str) -> Backend:
        if name == "sqlite":
            directory = tmp_path / label
            directory.mkdir(exist_ok=True)
            db: Backend = SQLiteBackend.create(directory)
        elif name == "postgresql":
            db = PostgresBackend.create(request.getfixturevalue("postgres_server_url"))
        else:
            db = MySQLBackend.create(request.getfixturevalue("mysql_server_url"))
        made.append(db)
        return db

    yield make
    for db in made:
        db.dispose()


@pytest.fixture
def live_env(make_env) -> Iterator[Env]:  # type: ignore[no-untyped-def]
    env = make_env(job_workers=1)
    yield env
    env.services.jobs.stop()


@pytest.fixture
def sides(live_env, databases, request) -> tuple[Side, Side]:  # type: ignore[no-untyped-def]
    source_name, target_name = request.param
    return (
        Side(live_env, databases(source_name, "source"), "source"),
        Side(live_env, databases(target_name, "target"), "target"),
    )


def _canonical(column: str, value: Any) -> Any:
    """A value read back from any of the three databases, in one form to compare."""
    if value is None:
        return None
    if column == "dec":
        return Decimal(str(value))
    if column == "day":
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    if column == "at":
        return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    if column == "flag":
        return bool(int(value))
    if column == "uid":
        return uuid.UUID(str(value))
    if column == "bin":
        return bytes(value)
    return value


def _canonical_rows(rows: list[tuple], columns: list[str] = COLUMNS) -> list[tuple]:
    return [tuple(_canonical(c, v) for c, v in zip(columns, row, strict=True)) for row in rows]


def _prepare_target(target: Side, mode: str, table: str, columns: list[str], ddl: str) -> None:
    if mode != "create":
        target.create(table, columns, ddl)
    if mode == "replace":
        target.insert(table, columns, OLD_ROWS if columns == COLUMNS else [(1000, "old")])


@pytest.mark.parametrize("sides", PAIRS, indirect=True)
@pytest.mark.parametrize("mode", MODES)
def test_rows_and_types_arrive_exactly(sides, mode):
    source, target = sides
    src, dst = source.table("kinds"), target.table("landed")
    source.create(src, COLUMNS, KINDS_DDL[source.name])
    source.insert(src, COLUMNS, ROWS)
    _prepare_target(target, mode, dst, COLUMNS, KINDS_DDL[target.name])
    body = transfer_body(source.token, target.token, dst, mode, batch=2, table=src, sort=["id"])
    job_id = transfers.submit(source.env, body)
    job = transfers.wait_for(source.env, job_id)
    assert job["status"] == "succeeded", job
    assert job["progress"] == {"rowsRead": 3, "rowsWritten": 3}
    assert job["rows"] == 3
    assert _canonical_rows(target.rows(dst, COLUMNS)) == ROWS
    if mode == "create" and "sqlite" not in (source.name, target.name):
        types = target.column_types(dst)
        boolean = "boolean" if target.name == "postgresql" else "tinyint(1)"
        assert types["flag"] == boolean
        assert types["day"] == "date"
        assert types["dec"].replace(" ", "") in ("numeric(20,6)", "decimal(20,6)")
        assert types["txt"] in ("character varying(50)", "varchar(50)")
        assert types["uid"] in ("uuid", "char(36)", "character varying(36)", "varchar(36)")
    if mode == "replace" and target.name != "sqlite":
        # The staging table took the target's place: none is left behind.
        assert not target.exists(f"{dst}__dbc_{job_id[:8]}")


# A runtime error at source row 25 (of 30), read in batches of 10: it fails in batch 3.
FAILING_AT_25 = {
    "postgresql": "SELECT s.id, s.txt, (SELECT d.id FROM {t} d WHERE d.id <= "
    "CASE WHEN s.id = 25 THEN 2 ELSE 1 END) AS boom FROM {t} s",
    "sqlite": "SELECT id, txt, CASE WHEN id = 25 THEN abs(-9223372036854775807 - 1) ELSE 1 END "
    "AS boom FROM {t}",
}
FAILING_AT_25["mysql"] = FAILING_AT_25["postgresql"]


def _unchanged(target: Side, mode: str, table: str, columns: list[str]) -> None:
    if mode == "create":
        assert not target.exists(table)
    elif mode == "replace":
        assert target.rows(table, columns) == [(1000, "old")]
    else:
        assert target.rows(table, columns) == []


@pytest.mark.parametrize("sides", PAIRS, indirect=True)
@pytest.mark.parametrize("mode", MODES)
def test_a_failure_in_batch_3_leaves_the_target_unchanged(sides, mode):
    source, target = sides
    src, dst = source.table("dups"), target.table("strict")
    columns = ["id", "txt"]
    # Row 25 repeats id 5: the target's primary key refuses it, in the third batch of ten. (A
    # created table has no constraints: there the source statement fails at row 25 instead.)
    ids = list(range(1, 31)) if mode == "create" else [*range(1, 25), 5, *range(26, 31)]
    source.create(src, columns, "INTEGER; VARCHAR(20)")
    source.insert(src, columns, [(i, f"row {i}") for i in ids])
    _prepare_target(target, mode, dst, columns, "INTEGER PRIMARY KEY; VARCHAR(20)")
    if mode == "create":
        sql = FAILING_AT_25[source.name].format(t=source.q(src))
        body = transfer_body(source.token, target.token, dst, mode, batch=10, statement=sql)
    else:
        body = transfer_body(source.token, target.token, dst, mode, batch=10, table=src)
    job = transfers.wait_for(source.env, transfers.submit(source.env, body))
    assert job["status"] == "failed", job
    if source.name == target.name == "postgresql":
        # COPY piped into COPY: rows are counted as they stream, not in batches.
        assert 20 <= job["progress"]["rowsWritten"] <= 30, job
    else:
        assert job["progress"]["rowsWritten"] == 20, job
    assert job["rows"] == 0
    _unchanged(target, mode, dst, columns)


_DIGITS = "(" + " UNION ALL ".join(f"SELECT {d} AS d" for d in range(10)) + ")"
MANY = 1_000_000


def _many_rows(name: str, marker: str) -> str:
    """A statement of a million rows, produced as they are read (MariaDB stops recursive CTEs at
    1,000 rows: six digit tables instead); `marker` finds it among the server's statements."""
    if name == "postgresql":
        return f"SELECT g AS id, '{marker}' AS txt FROM generate_series(1, {MANY}) AS g"
    if name == "sqlite":
        return (
            f"WITH RECURSIVE c(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM c WHERE id < {MANY}) "
            f"SELECT id, '{marker}' AS txt FROM c"
        )
    tables = "abcefg"
    number = " + ".join(f"{t}.d * {10**i}" for i, t in enumerate(reversed(tables)))
    joined = ", ".join(f"{_DIGITS} {t}" for t in tables)
    return f"SELECT {number} + 1 AS id, '{marker}' AS txt FROM {joined}"


def _stopped(db: Backend, marker: str) -> bool:
    """The server runs no statement holding `marker` any more (polled: a cancel takes a moment)."""
    deadline = time.monotonic() + 10
    while _running(db, marker):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("sides", PAIRS, indirect=True)
@pytest.mark.parametrize("mode", MODES)
def test_a_cancel_half_way_leaves_the_target_unchanged(sides, mode):
    source, target = sides
    dst = target.table("cancelled")
    columns = ["id", "txt"]
    _prepare_target(target, mode, dst, columns, "BIGINT PRIMARY KEY; VARCHAR(20)")
    marker = f"m{source.suffix}"
    body = transfer_body(
        source.token, target.token, dst, mode, batch=500, statement=_many_rows(source.name, marker)
    )
    env = source.env
    job_id = transfers.submit(env, body)
    running = transfers.wait_for(env, job_id, written=500)
    assert running["status"] == "running", running
    cancel = env.owner.post(f"/v1/jobs/{job_id}/cancel")
    assert (cancel.status_code, cancel.get_json()) == (200, {"status": "cancelled"})
    job = transfers.wait_for(env, job_id, "cancelled")
    assert job["progress"]["rowsWritten"] < MANY
    _unchanged(target, mode, dst, columns)
    # The read was stopped at the database, not left running to its end.
    assert _stopped(source.db, marker)


@pytest.mark.parametrize("sides", PAIRS, indirect=True)
def test_a_statement_source_with_a_closing_comment_and_semicolon(sides):
    """Caller SQL as /query takes it: PostgreSQL's COPY (...) wraps it, so a line comment at its
    end must not swallow the closing parenthesis."""
    source, target = sides
    src, dst = source.table("plain"), target.table("copied")
    columns = ["id", "txt"]
    source.create(src, columns, "INTEGER; VARCHAR(20)")
    source.insert(src, columns, [(1, "a"), (2, "b")])
    target.create(dst, columns, "INTEGER PRIMARY KEY; VARCHAR(20)")
    names = ", ".join(source.q(c) for c in columns)
    statement = f"SELECT {names} FROM {source.q(src)} -- every row\n;"
    body = transfer_body(source.token, target.token, dst, statement=statement)
    job = transfers.wait_for(source.env, transfers.submit(source.env, body))
    assert job["status"] == "succeeded", job
    assert target.rows(dst, columns) == [(1, "a"), (2, "b")]
