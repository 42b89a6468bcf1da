"""The transfer type map: a source column's type, in neutral terms, and its DDL on each target.

A source driver describes each column of its result as a ColumnKind (drivers/*.column_kinds);
`create` mode builds the target table from those with `column_ddl`, per target dialect. The
table in docs/api.md ("Transfers") is this map; tests/sql/test_transfer_types.py checks it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# Neutral kinds. "integer" has a size (2, 4 or 8 bytes); "decimal" a precision and scale; "text"
# and "binary" a length (0: unbounded).
KINDS = (
    "integer",
    "decimal",
    "float",
    "text",
    "date",
    "timestamp",
    "timestamptz",
    "time",
    "boolean",
    "binary",
    "uuid",
    "json",
)


@dataclass(frozen=True)
class ColumnKind:
    kind: str
    size: int = 0  # integer bytes; text/binary length (0: unbounded)
    precision: int = 0  # decimal (0: unspecified)
    scale: int = 0


TEXT = ColumnKind("text")


def kind_of_value(value: Any) -> ColumnKind:
    """For drivers that report no column types (SQLite): the kind of a column's first value."""
    if value is None:
        return TEXT
    if isinstance(value, bool):
        return ColumnKind("boolean")
    if isinstance(value, int):
        return ColumnKind("integer", 8)
    if isinstance(value, float):
        return ColumnKind("float")
    if isinstance(value, Decimal):
        return ColumnKind("decimal")
    if isinstance(value, dt.datetime):
        return ColumnKind("timestamptz" if value.tzinfo else "timestamp")
    if isinstance(value, dt.date):
        return ColumnKind("date")
    if isinstance(value, dt.time):
        return ColumnKind("time")
    if isinstance(value, bytes | bytearray | memoryview):
        return ColumnKind("binary")
    if isinstance(value, uuid.UUID):
        return ColumnKind("uuid")
    if isinstance(value, dict | list):
        return ColumnKind("json")
    return TEXT


_INTEGERS = {
    "postgresql": {2: "SMALLINT", 4: "INTEGER", 8: "BIGINT"},
    "mysql": {2: "SMALLINT", 4: "INT", 8: "BIGINT"},
    "mssql": {2: "SMALLINT", 4: "INT", 8: "BIGINT"},
    "sqlite": {2: "INTEGER", 4: "INTEGER", 8: "INTEGER"},
}
_FIXED = {
    "postgresql": {
        "float": "DOUBLE PRECISION",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "timestamptz": "TIMESTAMPTZ",
        "time": "TIME",
        "boolean": "BOOLEAN",
        "binary": "BYTEA",
        "uuid": "UUID",
        "json": "JSONB",
    },
    "mysql": {
        "float": "DOUBLE",
        "date": "DATE",
        "timestamp": "DATETIME(6)",
        "timestamptz": "DATETIME(6)",
        "time": "TIME(6)",
        "boolean": "BOOLEAN",
        "uuid": "CHAR(36)",
        "json": "JSON",
    },
    "mssql": {
        "float": "FLOAT",
        "date": "DATE",
        "timestamp": "DATETIME2",
        "timestamptz": "DATETIMEOFFSET",
        "time": "TIME",
        "boolean": "BIT",
        "uuid": "UNIQUEIDENTIFIER",
        "json": "NVARCHAR(MAX)",
    },
    # SQLite keeps dates and times as ISO text, booleans as 0/1 and decimals as exact text (its
    # NUMERIC affinity would round them to 15 digits).
    "sqlite": {
        "float": "REAL",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
        "timestamptz": "TIMESTAMP",
        "time": "TEXT",
        "boolean": "BOOLEAN",
        "binary": "BLOB",
        "uuid": "VARCHAR(36)",
        "json": "TEXT",
        "decimal": "TEXT",
    },
}
_DECIMAL_MAX = {"postgresql": (1000, 1000), "mysql": (65, 30), "mssql": (38, 38)}
_VARCHAR_MAX = {"postgresql": 10_485_760, "mysql": 16_383, "mssql": 4_000, "sqlite": 1 << 30}


def column_ddl(dialect: str, column: ColumnKind) -> str:
    """The column type `create` gives `column` on a `dialect` target."""
    fixed = _FIXED[dialect]
    kind = column.kind
    if kind in fixed:
        return fixed[kind]
    if kind == "integer":
        return _INTEGERS[dialect].get(column.size, _INTEGERS[dialect][8])
    if kind == "decimal":
        return _decimal(dialect, column)
    if kind == "binary":  # mysql and mssql
        if 0 < column.size <= (8000 if dialect == "mssql" else 65_535):
            return f"VARBINARY({column.size})"
        return "LONGBLOB" if dialect == "mysql" else "VARBINARY(MAX)"
    return _text(dialect, column.size)


def _decimal(dialect: str, column: ColumnKind) -> str:
    precision_max, scale_max = _DECIMAL_MAX[dialect]
    if not column.precision:
        # An unconstrained NUMERIC: PostgreSQL keeps it so; the others get their widest type.
        if dialect == "postgresql":
            return "NUMERIC"
        return f"DECIMAL({precision_max}, {scale_max // 3})"
    precision = min(column.precision, precision_max)
    scale = min(column.scale, scale_max, precision)
    return f"{'NUMERIC' if dialect == 'postgresql' else 'DECIMAL'}({precision}, {scale})"


def _text(dialect: str, length: int) -> str:
    if 0 < length <= _VARCHAR_MAX[dialect]:
        return f"NVARCHAR({length})" if dialect == "mssql" else f"VARCHAR({length})"
    return {"postgresql": "TEXT", "mysql": "LONGTEXT", "mssql": "NVARCHAR(MAX)"}.get(
        dialect, "TEXT"
    )
