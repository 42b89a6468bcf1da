"""How transfers write: SQL Server's multi-row INSERTs against SQLAlchemy's SQL Server dialect
(the T-SQL it would write for the same rows), and the values each driver is sent."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import column, insert, table

from dbconnector.drivers.mssql import PARAMETERS_MAX, insert_batches
from dbconnector.drivers.transfer_values import JSON, TO_MYSQL, TO_SQLITE, adapt_rows
from tests.support.dialects import mssql_dialect, render


def test_mssql_batches_are_the_dialects_multi_row_insert():
    dialect = mssql_dialect()
    rows = [(1, "a", None), (2, "b's", Decimal("1.5"))]
    ((sql, values),) = insert_batches(dialect, "[dbo].[people]", ["ID", "Name", "Score"], rows)
    people = table("people", column("ID"), column("Name"), column("Score"), schema="dbo")
    expected, expected_values = render(
        insert(people).values(
            [dict(zip(("ID", "Name", "Score"), row, strict=True)) for row in rows]
        ),
        "mssql",
    )
    assert sql.replace("%s", "?") == expected
    assert list(values) == expected_values == [1, "a", None, 2, "b's", Decimal("1.5")]


def test_mssql_batches_stay_under_the_parameter_and_row_limits():
    dialect = mssql_dialect()
    wide = [tuple(range(7))] * 700
    statements = list(insert_batches(dialect, "[t]", [f"c{i}" for i in range(7)], wide))
    assert [len(values) for _, values in statements] == [299 * 7, 299 * 7, 102 * 7]
    assert all(len(values) < PARAMETERS_MAX for _, values in statements)
    narrow = list(insert_batches(dialect, "[t]", ["c"], [(1,)] * 2500))
    assert [len(values) for _, values in narrow] == [1000, 1000, 500]


def test_values_are_converted_only_for_drivers_that_cannot_bind_them():
    moment = dt.datetime(2021, 8, 10, 19, 30, 20, 160000, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    uid = uuid.UUID(int=5)
    rows = [(1, True, Decimal("12345678901234567.89"), moment, uid, {"a": [1]}, memoryview(b"x"))]
    assert adapt_rows(TO_SQLITE, rows) == [
        (
            1,
            1,
            "12345678901234567.89",
            "2021-08-10 19:30:20.160000+02:00",
            str(uid),
            '{"a": [1]}',
            b"x",
        )
    ]
    assert adapt_rows(TO_MYSQL, rows) == [
        (
            1,
            True,
            Decimal("12345678901234567.89"),
            dt.datetime(2021, 8, 10, 17, 30, 20, 160000),
            str(uid),
            '{"a": [1]}',
            b"x",
        )
    ]
    # Nothing to convert: the very same rows go through.
    plain = [(1, "a"), (None, "b")]
    assert adapt_rows(JSON, plain) is plain
