"""Every execution endpoint through the HTTP API, against real databases: SQLite, PostgreSQL and
MariaDB on this machine, and SQL Server / Babelfish when DBCONNECTOR_TEST_MSSQL is set."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.support.app import Env
from tests.support.backends import (
    Backend,
    MSSQLBackend,
    MySQLBackend,
    PostgresBackend,
    SQLiteBackend,
)

SPEC_ROWS = [
    {
        "ID": 1,
        "Name": "David Upton",
        "Address": "1 Nevermind St, Nowhere",
        "Sex": "Male",
        "Age": 21,
    },
    {"ID": 2, "Name": "Matt McGowan", "Address": "14 Glochester Park", "Sex": "Male", "Age": 21},
    {"ID": 3, "Name": "Phiilip Kelly", "Address": "2 Redline, Boston", "Sex": "Male", "Age": 21},
    {
        "ID": 4,
        "Name": "Stella Ubana",
        "Address": "3 Kids is too many, Boston",
        "Sex": "Female",
        "Age": 21,
    },
    {
        "ID": 5,
        "Name": "Caroline Stjarnborg",
        "Address": "1 City Hall Plaza, Boston",
        "Sex": "Female",
        "Age": 21,
    },
    {"ID": 6, "Name": "James Duffy", "Address": "1 Boston", "Sex": "Male", "Age": 21},
    {
        "ID": 7,
        "Name": "Sebastian Ebard",
        "Address": "2 Nice Street, Rosendale",
        "Sex": "Male",
        "Age": 21,
    },
    {
        "ID": 8,
        "Name": "Jeanethe Falvey",
        "Address": "3 Nice Street, Rosendale",
        "Sex": "Female",
        "Age": 21,
    },
]

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.live),
    pytest.param("mysql", id="mariadb", marks=pytest.mark.live),
    pytest.param("mssql", id="mssql", marks=pytest.mark.live),
]


@pytest.fixture(scope="session", params=BACKENDS)
def backend_server(request, tmp_path_factory) -> Iterator[Backend]:
    name = request.param
    if name == "sqlite":
        backend: Backend = SQLiteBackend.create(tmp_path_factory.mktemp("target"))
    elif name == "postgresql":
        backend = PostgresBackend.create(request.getfixturevalue("postgres_server_url"))
    elif name == "mysql":
        backend = MySQLBackend.create(request.getfixturevalue("mysql_server_url"))
    else:
        backend = MSSQLBackend.create(request.getfixturevalue("mssql_url"))
    yield backend
    backend.dispose()


@pytest.fixture
def backend(backend_server: Backend) -> Backend:
    backend_server.reset()
    return backend_server


class Target:
    """A stored connection to the backend, called as the OWNER unless told otherwise."""

    def __init__(self, env: Env, backend: Backend, **connection: Any) -> None:
        self.env, self.backend = env, backend
        spec = {**backend.connection, **connection}
        self.token = env.connection(spec, name=f"target-{env._count}")

    def call(self, endpoint: str, caller: Any = None, **body: Any):  # type: ignore[no-untyped-def]
        caller = caller or self.env.owner
        return caller.post(f"/v1/{endpoint}/{self.backend.name}", {"token": self.token, **body})

    def ok(self, endpoint: str, **body: Any) -> Any:
        response = self.call(endpoint, **body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def ids(self, **body: Any) -> list[int]:
        return [row["ID"] for row in self.ok("select", table="testTable", **body)]


@pytest.fixture
def target(env: Env, backend: Backend) -> Target:
    return Target(env, backend)


# --- select --------------------------------------------------------------------------------


def test_select_returns_the_specification_rows(target):
    assert target.ok("select", table="testTable", sort=["ID"]) == SPEC_ROWS


def test_select_fields_filter_sort_limit_page(target):
    rows = target.ok(
        "select",
        table="testTable",
        fields=["ID", "Name"],
        filter=[{"Sex": "Male"}],
        sort=["ID DESC"],
        limit="2",
        page="1",
    )
    assert rows == [{"ID": 3, "Name": "Phiilip Kelly"}, {"ID": 2, "Name": "Matt McGowan"}]


def test_select_from_a_view(target):
    assert target.ok("select", table="females", sort=["ID"]) == [
        {"ID": 4, "Name": "Stella Ubana"},
        {"ID": 5, "Name": "Caroline Stjarnborg"},
        {"ID": 8, "Name": "Jeanethe Falvey"},
    ]
    assert target.ok("query", statement="SELECT COUNT(*) AS n FROM females") == [{"n": 3}]


def test_select_with_schema_qualified_table(target, backend):
    schema = {
        "sqlite": "main",
        "postgresql": "public",
        "mysql": backend.connection.get("database"),
        "mssql": "dbo",
    }[backend.name]
    assert len(target.ok("select", table=f"{schema}.testTable")) == 8


@pytest.mark.parametrize(
    "filter, expected",
    [
        ([{"ID": 3}], [3]),
        ([{"!Sex": "Male"}], [4, 5, 8]),
        ([{"Address": "%Boston"}], [3, 4, 5, 6]),
        ([{"Name": "J%"}], [6, 8]),
        ([{"Name": "%an%"}], [2, 4, 7, 8]),
        ([{"!Name": "%an%"}], [1, 3, 5, 6]),
        ([{"ID": [1, 3, 5]}], [1, 3, 5]),
        ([{"!ID": [1, 3, 5]}], [2, 4, 6, 7, 8]),
        ([{"ID": []}], []),
        ([{">ID": 6}], [7, 8]),
        ([{">=ID": 6}, {"<ID": 8}], [6, 7]),
        ([{"<=ID": "2"}], [1, 2]),
        ([{"Sex": "Female"}, {"^ID": 1}], [1, 4, 5, 8]),
        ([{"ID": 1}, {"^ID": 2}, {"Sex": "Female"}], [1]),
        ([[{"ID": 1}, {"^ID": 2}], {"Sex": "Male"}], [1, 2]),
        ([{"Sex": "Female"}, {"^": [{"ID": 1}, {"ID": 2}]}], [4, 5, 8]),
        ([{"Address": None}], []),
        ([{"!Address": None}], [1, 2, 3, 4, 5, 6, 7, 8]),
        ([{"Sex": "Male", "Age": 21, "!ID": [1, 2]}], [3, 6, 7]),
        ({"ID": 2}, [2]),
    ],
)
def test_filter_operators(target, filter, expected):
    assert target.ids(filter=filter, sort=["ID"]) == expected


def test_filter_with_null_in_a_list(target, backend):
    with backend.engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE {backend.ident('testTable')} SET {backend.ident('Address')} = NULL "
            f"WHERE {backend.ident('ID')} = 2"
        )
    assert target.ids(filter=[{"Address": ["1 Boston", None]}], sort=["ID"]) == [2, 6]
    assert target.ids(filter=[{"!Address": ["1 Boston", None]}], sort=["ID"]) == [1, 3, 4, 5, 7, 8]


def test_paging_rules(target):
    missing_sort = target.call("select", table="testTable", limit=2)
    assert missing_sort.status_code == 400
    assert missing_sort.get_json() == {"error": "Paged query must have sort/order"}
    page_only = target.call("select", table="testTable", page=1)
    assert page_only.get_json() == {"error": "Must have limit and sort if page defined"}
    assert target.ids(sort=["ID"], limit=3, page=2) == [7, 8]
    assert target.ids(sort=["ID"], limit=3, page=5) == []


def test_sort_without_limit_returns_100_rows(target, backend):
    with backend.engine.begin() as conn:
        for i in range(120):
            conn.exec_driver_sql(
                f"INSERT INTO {backend.ident('testTable')} ({backend.ident('Name')}) "
                f"VALUES ('extra {i}')"
            )
    assert len(target.ok("select", table="testTable", sort=["ID"])) == 100
    assert len(target.ok("select", table="testTable")) == 128


def test_select_unknown_table_is_a_clean_400(target, backend):
    response = target.call("select", table="no_such_table")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error and "no_such_table" in error
    for secret in (backend.connection.get("password"), backend.connection.get("host")):
        if secret and len(str(secret)) > 3:
            assert str(secret) not in error
    assert "Traceback" not in error and "DB-Lib" not in error and "b'" not in error


def test_select_unknown_column_is_400(target):
    response = target.call("select", table="testTable", fields=["Nope"])
    assert response.status_code == 400 and "nope" in response.get_json()["error"].lower()


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"table": "testTable; DROP TABLE x"},
            "table 'testTable; DROP TABLE x' is not a plain identifier",
        ),
        (
            {"table": "testTable", "fields": ["ID) FROM x --"]},
            "field 'ID) FROM x --' is not a plain identifier",
        ),
        (
            {"table": "testTable", "sort": ["ID; DROP"]},
            "sort field 'ID; DROP' is not a plain identifier",
        ),
        (
            {"table": "testTable", "filter": [{"ID = 1 OR 1": 1}]},
            "filter field 'ID = 1 OR 1' is not a plain identifier",
        ),
    ],
)
def test_injection_attempts_are_400_and_change_nothing(target, backend, body, message):
    response = target.call("select", **body)
    assert response.status_code == 400 and response.get_json() == {"error": message}
    assert backend.count() == 8


# --- insert, update, delete ----------------------------------------------------------------


def test_insert_one_row_returns_its_identity(target):
    body = target.ok("insert", table="testTable", fields=["Name", "Age"], values=[["Zoe Zed", 33]])
    assert body == {"Identity": 9}
    assert target.ok("select", table="testTable", filter=[{"ID": 9}], fields=["Name", "Age"]) == [
        {"Name": "Zoe Zed", "Age": 33}
    ]


def test_insert_without_identity_column_gives_null_or_rowid(target, backend):
    body = target.ok("insert", table="kinds", fields=["id", "txt"], values=[[7, "x"]])
    expected = 7 if backend.name == "sqlite" else None  # SQLite: the rowid, which id aliases
    assert body == {"Identity": expected}


def test_insert_many_rows(target, backend):
    body = target.ok(
        "insert",
        table="testTable",
        fields=["Name", "Sex"],
        values=[["A", "F"], ["B", "M"], ["C", "F"]],
    )
    assert body == {"result": "success"}
    assert backend.count() == 11


def test_insert_is_all_or_nothing(target, backend):
    target.ok("insert", table="kinds", fields=["id"], values=[[1]])
    response = target.call("insert", table="kinds", fields=["id"], values=[[2], [3], [1]])
    assert response.status_code == 400
    assert backend.count("kinds") == 1


def test_update_counts_matched_rows(target, backend):
    body = target.ok("update", table="testTable", values={"Age": 30}, filter=[{"Sex": "Female"}])
    assert body == {"Updated": 3}
    ages = {r["ID"]: r["Age"] for r in target.ok("select", table="testTable")}
    assert [i for i, a in ages.items() if a == 30] == [4, 5, 8]
    # matched but unchanged still count (as on SQL Server)
    assert target.ok("update", table="testTable", values={"Age": 30}, filter=[{"ID": 4}]) == {
        "Updated": 1
    }
    assert target.ok("update", table="testTable", values={"Age": 1}, filter=[{"ID": 99}]) == {
        "Updated": 0
    }


@pytest.mark.parametrize("filter", [None, [], [{}], [[]]])
def test_update_and_delete_refuse_an_empty_filter(target, backend, filter):
    body = {"table": "testTable"} | ({} if filter is None else {"filter": filter})
    update = target.call("update", values={"Age": 1}, **body)
    assert update.status_code == 400 and update.get_json() == {
        "error": "Update must have a filter defined"
    }
    delete = target.call("delete", **body)
    assert delete.status_code == 400 and delete.get_json() == {
        "error": "Delete must have a filter defined"
    }
    assert backend.count() == 8
    assert {r["Age"] for r in target.ok("select", table="testTable")} == {21}


def test_delete_counts_rows(target, backend):
    assert target.ok("delete", table="testTable", filter=[{"Name": "J%"}]) == {"Deleted": 2}
    assert backend.count() == 6


def test_failed_update_changes_nothing(target, backend):
    response = target.call(
        "update", table="testTable", values={"Age": 5, "Nope": 1}, filter=[{"ID": 1}]
    )
    assert response.status_code == 400
    assert target.ok("select", table="testTable", filter=[{"ID": 1}])[0]["Age"] == 21


# --- query -----------------------------------------------------------------------------------


def test_query_single_statement_gives_rows(target, backend):
    rows = target.ok(
        "query",
        statement=f"SELECT {backend.ident('Name')} FROM "
        f"{backend.ident('testTable')} WHERE {backend.ident('ID')} < 3 ORDER BY 1",
    )
    assert rows == [{"Name": "David Upton"}, {"Name": "Matt McGowan"}]


def test_query_several_result_sets_give_an_array_of_arrays(target, backend):
    t, age, ident = backend.ident("testTable"), backend.ident("Age"), backend.ident("ID")
    statement = (
        f"UPDATE {t} SET {age} = 40 WHERE {ident} = 1; "
        f"SELECT {ident}, {age} FROM {t} WHERE {ident} <= 2 ORDER BY {ident}; "
        f"SELECT COUNT(*) AS n FROM {t} WHERE {age} = 40"
    )
    result = target.ok("query", statement=statement)
    # the UPDATE returns no result set, so it adds no entry (as node-mssql's recordsets did)
    assert result == [[{"ID": 1, "Age": 40}, {"ID": 2, "Age": 21}], [{"n": 1}]]
    assert target.ok("query", statement=f"UPDATE {t} SET {age} = 41 WHERE {ident} = 1") == []
    one = target.ok("query", statement=f"UPDATE {t} SET {age} = 42; SELECT COUNT(*) AS n FROM {t}")
    assert one == [{"n": 8}]


def test_query_args_substitute_named_tokens(target, backend):
    statement = "SELECT {a} FROM {c} WHERE {a} < {n} ORDER BY {b} DESC"
    args = json.dumps(
        {
            "a": backend.ident("ID"),
            "b": backend.ident("ID"),
            "c": backend.ident("testTable"),
            "n": 3,
        }
    )
    assert target.ok("query", statement=statement, args=args) == [{"ID": 2}, {"ID": 1}]
    as_object = target.ok("query", statement=statement, args=json.loads(args))
    assert as_object == [{"ID": 2}, {"ID": 1}]


def test_query_batch_is_all_or_nothing(target, backend):
    t = backend.ident("testTable")
    response = target.call(
        "query",
        statement=f"DELETE FROM {t}; INSERT INTO {t} ({backend.ident('Name')}) VALUES ('x'); "
        "SELECT * FROM no_such_table",
    )
    assert response.status_code == 400 and "no_such_table" in response.get_json()["error"]
    assert backend.count() == 8


def test_postgresql_connections_are_reset_not_reopened_after_query(target, backend):
    if backend.name != "postgresql":
        pytest.skip("only PostgreSQL resets a connection in place (DISCARD ALL)")
    first = target.ok("query", statement="SELECT pg_backend_pid() AS pid")
    second = target.ok("query", statement="SELECT pg_backend_pid() AS pid")
    assert first == second  # the same pooled connection, reset rather than replaced


def test_query_session_changes_do_not_leak_to_the_next_caller(target, backend):
    """A /query that changes session state leaves nothing behind for the next call."""
    change = {
        "sqlite": "CREATE TEMP TABLE leak (x INTEGER)",
        "postgresql": "CREATE TEMP TABLE leak (x INTEGER); SET search_path TO pg_catalog",
        "mysql": "CREATE TEMPORARY TABLE leak (x INTEGER)",
        "mssql": "CREATE TABLE #leak (x INTEGER)",
    }[backend.name]
    target.ok("query", statement=change)
    probe = {"mssql": "SELECT * FROM #leak"}.get(backend.name, "SELECT * FROM leak")
    for _ in range(3):  # whichever pooled connection serves it
        assert target.call("query", statement=probe).status_code == 400
        assert len(target.ok("select", table="testTable")) == 8


# --- types -----------------------------------------------------------------------------------


def test_types_round_trip_exactly(target, backend):
    uid = "45826be6-1e29-cc64-b49e-550b9610c2ea"
    # SQLite has no exact decimal type: NUMERIC columns keep a REAL, so use a value a REAL holds
    exact = "12.5" if backend.name == "sqlite" else "1234567890123456789.0123456789"
    values = [
        [1, Decimal(exact), "2021-08-10", "2021-08-10T19:30:20.160000", True, uid, 1.5, "héllo ✓"]
    ]
    fields = ["id", "dec", "day", "at", "flag", "uid", "f", "txt"]
    target.ok("insert", table="kinds", fields=fields, values=values)
    response = target.call("select", table="kinds", fields=fields)
    assert f'"dec":{exact}'.encode() in response.data  # exact, as a JSON number
    row = response.get_json()[0]
    assert row["day"] == "2021-08-10"
    assert row["at"].replace(" ", "T") == "2021-08-10T19:30:20.160000"
    assert row["flag"] in ({True} if backend.name in ("postgresql", "mssql") else {1})
    assert row["uid"].lower() == uid
    assert row["f"] == 1.5 and row["txt"] == "héllo ✓"


def test_binary_comes_back_as_base64(target, backend):
    literal = {
        "sqlite": "X'00FF41'",
        "postgresql": "'\\x00ff41'::bytea",
        "mysql": "X'00FF41'",
        "mssql": "0x00FF41",
    }[backend.name]
    with backend.engine.begin() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO {backend.ident('kinds')} ({backend.ident('id')}, "
            f"{backend.ident('bin')}) VALUES (5, {literal})"
        )
    assert target.ok("select", table="kinds", fields=["bin"]) == [{"bin": "AP9B"}]


# --- stored procedures -------------------------------------------------------------------------


def test_exec_with_named_inputs_in_any_order_and_outputs(target, backend):
    if backend.name == "sqlite":
        response = target.call("exec", procname="add_person", params={"person_name": "x"})
        assert response.status_code == 400
        assert response.get_json() == {"error": "The sqlite driver has no stored procedures"}
        return
    body = target.ok(
        "exec",
        procname="add_person",
        params={"person_age": 40, "person_name": "Zoe"},
        output={"greeting": "varchar", "new_id": "number"},
    )
    assert body["output"] == {"greeting": "Hello Zoe", "new_id": 9}
    if backend.name == "postgresql":  # a procedure returns no result sets, only its OUT values
        assert body["result"] == []
    else:
        assert body["result"] == [[{"ID": 9, "Name": "Zoe"}], [{"people": 9}]]
    assert backend.count() == 9


def test_exec_without_outputs_returns_the_result_sets(target, backend):
    if backend.name == "sqlite":
        assert target.call("exec", procname="add_person").get_json() == {
            "error": "The sqlite driver has no stored procedures"
        }
        return
    if backend.name == "postgresql":
        rows = target.ok("exec", procname="people_older_than", params={"min_age": 20})
        assert [r["ID"] for r in rows] == [1, 2, 3, 4, 5, 6, 7, 8]
        return
    body = target.ok("exec", procname="people_by_sex", params={"@wanted_sex": "Female"}, output={})
    assert body == [[{"ID": 4}, {"ID": 5}, {"ID": 8}], [{"people": 3}]]
    one_set = target.ok("exec", procname="people_by_sex", params={"wanted_sex": "Nobody"})
    assert one_set == [[], [{"people": 0}]]


def test_exec_unknown_procedure_is_400(target, backend):
    response = target.call("exec", procname="no_such_proc", params={})
    assert response.status_code == 400
    expected = "no stored procedures" if backend.name == "sqlite" else "no_such_proc"
    assert expected in response.get_json()["error"]


# --- timeouts, dead connections, streaming ---------------------------------------------------


def test_statement_timeout_cancels_in_seconds(env, backend):
    target = Target(env, backend, options={"statement_timeout": 1})
    started = time.monotonic()
    response = target.call("query", statement=backend.sleep_sql(4))
    elapsed = time.monotonic() - started
    assert response.status_code == 400, response.get_json()
    assert response.get_json() == {
        "error": "The statement was cancelled after 1 s (statement timeout)"
    }
    assert elapsed < 3.5
    assert len(target.ok("select", table="testTable")) == 8  # the pool recovers


def test_a_dead_pooled_connection_is_replaced(target, backend):
    if backend.name == "sqlite":
        pytest.skip("SQLite has no server session to kill")
    assert len(target.ok("select", table="testTable")) == 8
    backend.kill_other_sessions()
    assert len(target.ok("select", table="testTable")) == 8


def test_large_select_is_streamed_complete(target, backend):
    t, name = backend.ident("testTable"), backend.ident("Name")
    with backend.engine.begin() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO {t} ({name}) VALUES " + ", ".join(f"('row {i}')" for i in range(999))
        )
        conn.exec_driver_sql(
            f"INSERT INTO {t} ({name}) VALUES " + ", ".join(f"('more {i}')" for i in range(999))
        )
    response = target.call("select", table="testTable", fields=["ID"])
    assert response.is_streamed  # written as fetched, never built whole
    rows = json.loads(response.get_data())
    assert len(rows) == 8 + 1998 and sorted(r["ID"] for r in rows) == list(range(1, 2007))


def test_use_updates_count_and_last_use(target):
    before = target.env.owner.get(f"/v1/connections/{target.token}").get_json()[0]
    assert (before["Count"], before["LastUse"]) == (0, None)
    target.ok("select", table="testTable")
    target.ok("query", statement="SELECT 1 AS one")
    after = target.env.owner.get(f"/v1/connections/{target.token}").get_json()[0]
    assert after["Count"] == 2 and after["LastUse"].endswith("Z")
