"""/select, /insert, /update, /delete -> SQL on every dialect; the T-SQL the mssql driver sends."""

from __future__ import annotations

import pytest

from dbconnector.drivers.base import Output, ProcedureCall
from dbconnector.drivers.mssql import MSSQLDriver
from dbconnector.errors import BadRequest, SystemRoutine
from dbconnector.sql.statements import (
    Place,
    delete_statement,
    insert_rows,
    select_statement,
    update_statement,
)
from tests.support.dialects import DIALECTS, mssql_dialect, quoted, render

SELECT_PAGED = {
    "mssql": "SELECT {ID}, {Name} FROM {dbo}.{testTable} WHERE {Sex} = ? ORDER BY {ID} DESC "
    "OFFSET ? ROWS FETCH FIRST ? ROWS ONLY",
    "postgresql": "SELECT {ID}, {Name} FROM {dbo}.{testTable} WHERE {Sex} = ? ORDER BY {ID} DESC "
    "LIMIT ?::INTEGER OFFSET ?::INTEGER",
    "mysql": "SELECT {ID}, {Name} FROM {dbo}.{testTable} WHERE {Sex} = ? ORDER BY {ID} DESC "
    "LIMIT ?, ?",
    "sqlite": "SELECT {ID}, {Name} FROM {dbo}.{testTable} WHERE {Sex} = ? ORDER BY {ID} DESC "
    "LIMIT ? OFFSET ?",
}


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_paged_select(dialect):
    statement = select_statement(
        Place(dialect, "dbo"), "testTable", ["ID", "Name"], [{"Sex": "Male"}], ["ID DESC"], 2, 3
    )
    sql, values = render(statement, dialect)
    assert sql == quoted(SELECT_PAGED[dialect], dialect)
    if dialect == "mssql":
        assert values == ["Male", 6, 2]  # OFFSET 6 ROWS FETCH FIRST 2 ROWS ONLY
    elif dialect == "mysql":
        assert values == ["Male", 6, 2]  # LIMIT offset, count
    else:
        assert values == ["Male", 2, 6]


def test_tsql_first_page_uses_top():
    statement = select_statement(Place("mssql"), "dbo.testTable", None, None, ["Name"], 5, 0)
    assert (
        render(statement, "mssql")[0] == "SELECT TOP 5 * FROM [dbo].[testTable] ORDER BY [Name] ASC"
    )


def test_tsql_three_part_names_and_bracketed_parts():
    statement = select_statement(
        Place("mssql"), "[City Data].dbo.[tax bill]", ["[property-code]"], [{"[first name]": "x"}]
    )
    assert render(statement, "mssql")[0] == (
        "SELECT [property-code] FROM [City Data].[dbo].[tax bill] WHERE [first name] = ?"
    )
    with pytest.raises(BadRequest, match="too many parts"):
        select_statement(Place("postgresql"), "a.b.c")


def test_default_schema_qualifies_bare_tables_only():
    place = Place("postgresql", "sales")
    assert render(select_statement(place, "t"), "postgresql")[0] == 'SELECT * FROM "sales"."t"'
    assert render(select_statement(place, "x.t"), "postgresql")[0] == 'SELECT * FROM "x"."t"'


@pytest.mark.parametrize(
    "sort, limit, page, expected",
    [
        (None, None, None, (None, 0)),
        (["ID"], None, None, (100, 0)),  # sort without limit: 100 rows
        (["ID"], None, 2, (100, 200)),
        (["ID"], "7", "1", (7, 7)),
        (None, None, 0, (None, 0)),  # page 0 is the first page either way
    ],
)
def test_paging_rules(sort, limit, page, expected):
    statement = select_statement(
        Place("postgresql"), "t", sort=sort, limit=limit and int(limit), page=page and int(page)
    )
    assert (statement._limit, statement._offset or 0) == expected


@pytest.mark.parametrize(
    "limit, page, message",
    [
        (5, None, "Paged query must have sort/order"),
        (None, 1, "Must have limit and sort if page defined"),
    ],
)
def test_paging_needs_sort(limit, page, message):
    with pytest.raises(BadRequest, match=message):
        select_statement(Place("postgresql"), "t", limit=limit, page=page)


def test_row_cap_applies_to_unbounded_selects_and_bounds_limit():
    assert select_statement(Place("postgresql", max_rows=50), "t")._limit == 50
    with pytest.raises(BadRequest, match="limit may be at most 50"):
        select_statement(Place("postgresql", max_rows=50), "t", sort=["a"], limit=51)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_insert_binds_every_value_positionally(dialect):
    statement, rows = insert_rows(
        Place(dialect), "testTable", ["Name", "[first name]"], [["a", 1], ["b", {"k": [1]}]]
    )
    sql, _ = render(statement.values(), dialect)
    assert sql == quoted("INSERT INTO {testTable} ({Name}, {first name}) VALUES (?, ?)", dialect)
    assert rows == [{"c0": "a", "c1": 1}, {"c0": "b", "c1": '{"k": [1]}'}]


@pytest.mark.parametrize(
    "fields, values, message",
    [
        (None, [[1]], "Insert must have fields defined"),
        ([], [[1]], "Insert must have fields defined"),
        (["a"], None, "Insert must have field values defined"),
        (["a"], [], "Insert must have field values defined"),
        (["a", "b"], [[1, 2], [3]], "values row 2 has 1 values for 2 fields"),
        (["a", "a"], [[1, 2]], "fields must not repeat a name"),
        (["a"], {"a": 1}, "values must be an array of rows"),
        (["a"], [1, [2]], "values must be an array of rows (arrays)"),
        (["t.a"], [[1]], "field 't.a' must be a bare name, without a table prefix"),
    ],
)
def test_insert_validation(fields, values, message):
    with pytest.raises(BadRequest) as caught:
        insert_rows(Place("sqlite"), "t", fields, values)
    assert message in caught.value.message


def test_insert_accepts_one_flat_row():
    _, rows = insert_rows(Place("sqlite"), "t", ["a", "b"], [1, "x"])
    assert rows == [{"c0": 1, "c1": "x"}]


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_update_and_delete(dialect):
    update = update_statement(Place(dialect), "t", {"Age": 30, "Name": None}, [{"ID": [1, 2]}])
    assert render(update, dialect) == (
        quoted("UPDATE {t} SET {Age}=?, {Name}=? WHERE {ID} IN (?, ?)", dialect),
        [30, None, 1, 2],
    )
    delete = delete_statement(Place(dialect), "t", [{"!Sex": "Male"}])
    assert render(delete, dialect) == (
        quoted("DELETE FROM {t} WHERE {Sex} != ?", dialect),
        ["Male"],
    )


@pytest.mark.parametrize("filter", [None, [], [{}]])
def test_update_and_delete_need_a_filter(filter):
    with pytest.raises(BadRequest, match="Update must have a filter defined"):
        update_statement(Place("sqlite"), "t", {"a": 1}, filter)
    with pytest.raises(BadRequest, match="Delete must have a filter defined"):
        delete_statement(Place("sqlite"), "t", filter)
    with pytest.raises(BadRequest, match="Update must have field values defined"):
        update_statement(Place("sqlite"), "t", {}, [{"a": 1}])


# --- the T-SQL batches of the mssql driver ---------------------------------------------------


def test_tsql_insert_returns_scope_identity_in_the_same_batch():
    statement, rows = insert_rows(Place("mssql"), "dbo.testTable", ["Name", "Age"], [["Zoe", 3]])
    sql, values = MSSQLDriver.identity_batch(mssql_dialect(), statement, rows[0])
    assert sql == (
        "INSERT INTO [dbo].[testTable] ([Name], [Age]) VALUES (%(c0)s, %(c1)s); "
        "SELECT CAST(SCOPE_IDENTITY() AS NUMERIC(38, 0)) AS [Identity]"
    )
    assert values == {"c0": "Zoe", "c1": 3}


def test_tsql_procedure_batch_declares_outputs_and_selects_them():
    sql, values = MSSQLDriver.procedure_batch(
        mssql_dialect(),
        ProcedureCall(
            ("dbo", "add person"),
            {"age": 40, "name": "Zoe"},
            (Output("new_id", "number"), Output("greeting", "varchar")),
        ),
    )
    assert sql.split("\n") == [
        "DECLARE @dbc_out_0 DECIMAL(38, 10);",
        "DECLARE @dbc_out_1 VARCHAR(MAX);",
        "EXEC [dbo].[add person] @age = %s, @name = %s, @new_id = @dbc_out_0 OUTPUT, "
        "@greeting = @dbc_out_1 OUTPUT;",
        "SELECT 1 AS [__dbc_outputs__], @dbc_out_0 AS [new_id], @dbc_out_1 AS [greeting];",
    ]
    assert values == (40, "Zoe")


def test_tsql_inout_parameter_starts_with_its_input_value():
    sql, values = MSSQLDriver.procedure_batch(
        mssql_dialect(),
        ProcedureCall(("bump",), {"Counter": 5, "by": 2}, (Output("counter", "number"),)),
    )
    assert sql.split("\n")[:2] == [
        "DECLARE @dbc_out_0 DECIMAL(38, 10) = %s;",
        "EXEC [bump] @by = %s, @counter = @dbc_out_0 OUTPUT;",
    ]
    assert values == (5, 2)


def test_tsql_procedure_without_parameters():
    sql, values = MSSQLDriver.procedure_batch(mssql_dialect(), ProcedureCall(("nightly",)))
    assert (sql, values) == ("EXEC [nightly];", ())


@pytest.mark.parametrize(
    "path",
    [
        ("sp_executesql",),
        ("SP_ExecuteSQL",),
        ("dbo", "sp_executesql"),
        ("xp_cmdshell",),
        ("sys", "sp_configure"),
        ("SYS", "fn_anything"),
        ("INFORMATION_SCHEMA", "anything"),
        ("master", "dbo", "nightly"),
        ("msdb", "dbo", "sp_start_job"),
        ("tempdb", "dbo", "scratch"),
    ],
)
def test_tsql_system_routines_are_refused_below_full(path):
    with pytest.raises(SystemRoutine):
        MSSQLDriver.procedure_batch(mssql_dialect(), ProcedureCall(path))
    # FULL and up (system_routines) run them as any other procedure.
    sql, _ = MSSQLDriver.procedure_batch(mssql_dialect(), ProcedureCall(path, system_routines=True))
    assert sql.startswith("EXEC ")


@pytest.mark.parametrize("path", [("nightly",), ("dbo", "add person"), ("sales", "dbo", "spend")])
def test_tsql_user_routines_run_for_every_exec_role(path):
    sql, _ = MSSQLDriver.procedure_batch(mssql_dialect(), ProcedureCall(path))
    assert sql.startswith("EXEC ")
