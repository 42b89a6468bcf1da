"""The transfer type map (sql/transfer_types.py): each neutral kind's DDL on every target dialect,
as docs/api.md documents it, and the kinds SQLite's values stand for."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from dbconnector.sql.transfer_types import KINDS, ColumnKind, column_ddl, kind_of_value

DIALECTS = ("postgresql", "mysql", "sqlite", "mssql")
# kind -> DDL on postgresql, mysql, sqlite, mssql (docs/api.md's table).
MAP = {
    ColumnKind("integer", 2): ("SMALLINT", "SMALLINT", "INTEGER", "SMALLINT"),
    ColumnKind("integer", 4): ("INTEGER", "INT", "INTEGER", "INT"),
    ColumnKind("integer", 8): ("BIGINT", "BIGINT", "INTEGER", "BIGINT"),
    ColumnKind("decimal", 0, 20, 6): (
        "NUMERIC(20, 6)",
        "DECIMAL(20, 6)",
        "TEXT",
        "DECIMAL(20, 6)",
    ),
    ColumnKind("decimal", 0, 70, 40): (
        "NUMERIC(70, 40)",
        "DECIMAL(65, 30)",
        "TEXT",
        "DECIMAL(38, 38)",
    ),
    ColumnKind("decimal"): ("NUMERIC", "DECIMAL(65, 10)", "TEXT", "DECIMAL(38, 12)"),
    ColumnKind("float"): ("DOUBLE PRECISION", "DOUBLE", "REAL", "FLOAT"),
    ColumnKind("text", 50): ("VARCHAR(50)", "VARCHAR(50)", "VARCHAR(50)", "NVARCHAR(50)"),
    ColumnKind("text", 20_000): ("VARCHAR(20000)", "LONGTEXT", "VARCHAR(20000)", "NVARCHAR(MAX)"),
    ColumnKind("text"): ("TEXT", "LONGTEXT", "TEXT", "NVARCHAR(MAX)"),
    ColumnKind("date"): ("DATE", "DATE", "DATE", "DATE"),
    ColumnKind("timestamp"): ("TIMESTAMP", "DATETIME(6)", "TIMESTAMP", "DATETIME2"),
    ColumnKind("timestamptz"): ("TIMESTAMPTZ", "DATETIME(6)", "TIMESTAMP", "DATETIMEOFFSET"),
    ColumnKind("time"): ("TIME", "TIME(6)", "TEXT", "TIME"),
    ColumnKind("boolean"): ("BOOLEAN", "BOOLEAN", "BOOLEAN", "BIT"),
    ColumnKind("binary", 64): ("BYTEA", "VARBINARY(64)", "BLOB", "VARBINARY(64)"),
    ColumnKind("binary"): ("BYTEA", "LONGBLOB", "BLOB", "VARBINARY(MAX)"),
    ColumnKind("uuid"): ("UUID", "CHAR(36)", "VARCHAR(36)", "UNIQUEIDENTIFIER"),
    ColumnKind("json"): ("JSONB", "JSON", "TEXT", "NVARCHAR(MAX)"),
}


@pytest.mark.parametrize("kind", list(MAP), ids=lambda k: f"{k.kind}-{k.size}-{k.precision}")
def test_every_kind_has_its_documented_type_on_every_dialect(kind):
    assert tuple(column_ddl(dialect, kind) for dialect in DIALECTS) == MAP[kind]


def test_the_map_covers_every_kind():
    assert {kind.kind for kind in MAP} == set(KINDS)


@pytest.mark.parametrize(
    "value, kind",
    [
        (None, ColumnKind("text")),
        (True, ColumnKind("boolean")),
        (7, ColumnKind("integer", 8)),
        (1.5, ColumnKind("float")),
        (Decimal("1.5"), ColumnKind("decimal")),
        (dt.datetime(2021, 8, 10, 1, 2), ColumnKind("timestamp")),
        (dt.datetime(2021, 8, 10, tzinfo=dt.UTC), ColumnKind("timestamptz")),
        (dt.date(2021, 8, 10), ColumnKind("date")),
        (dt.time(1, 2), ColumnKind("time")),
        (b"\x00", ColumnKind("binary")),
        (uuid.UUID(int=1), ColumnKind("uuid")),
        ({"a": 1}, ColumnKind("json")),
        ("2021-08-10", ColumnKind("text")),
    ],
)
def test_a_value_stands_for_its_kind_where_the_driver_says_none(value, kind):
    assert kind_of_value(value) == kind
