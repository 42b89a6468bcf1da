"""/exec below FULL runs the database's user routines only: routines of system schemas and of
extensions run SQL text or read files (query_to_xml, dblink_exec, pg_read_file,
sys.execute_prepared_stmt), which only /query's roles may do. Each refusal is a 403 {} with an
audit line, decided from the database's catalogue, and changes nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from dbconnector.auth.roles import Role
from dbconnector.telemetry.requestlog import JsonFormatter
from tests.support.backends import MySQLBackend, PostgresBackend

READ_FILE = "SELECT pg_read_file('/etc/hostname') AS f"


@pytest.fixture
def postgres(fresh_postgres_url: str) -> Iterator[PostgresBackend]:
    backend = PostgresBackend.create(fresh_postgres_url)
    backend.reset()
    with backend.engine.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION dblink")
    yield backend
    backend.dispose()


@pytest.fixture(scope="module")
def mariadb(mysql_server_url: str) -> Iterator[MySQLBackend]:
    backend = MySQLBackend.create(mysql_server_url)
    yield backend
    backend.dispose()


def _callers(env, backend):  # type: ignore[no-untyped-def]
    token = env.connection(backend.connection, name="target")
    alter, full = env.user(Role.ALTER), env.user(Role.FULL)
    for user in (alter, full):
        env.grant(token, user)

    def call(caller, **body):  # type: ignore[no-untyped-def]
        return caller.post(f"/v1/exec/{backend.name}", {"token": token, **body})

    return token, alter, full, call


def _refusals(caplog) -> list[dict]:  # type: ignore[no-untyped-def]
    formatter = JsonFormatter()
    lines = [
        json.loads(formatter.format(r)) for r in caplog.records if r.name == "dbconnector.audit"
    ]
    return [line for line in lines if line["action"] == "execute.refused"]


def test_postgresql_system_and_extension_routines_are_refused_below_full(env, postgres, caplog):
    caplog.set_level(logging.INFO)
    _, alter, full, call = _callers(env, postgres)
    xml = {"query": READ_FILE, "nulls": True, "tableforest": True, "targetns": ""}
    dsn = "dbname={database} user={user} host={host} port={port}".format(**postgres.connection)
    insert = 'INSERT INTO "testTable" ("Name") VALUES (\'dblink\')'
    refused = [
        {"procname": "query_to_xml", "params": xml},
        {"procname": "pg_catalog.query_to_xml", "params": xml},
        {"procname": "pg_read_file", "params": {"filename": "/etc/hostname"}},
        {
            "procname": "set_config",
            "params": {"setting_name": "x.y", "new_value": "1", "is_local": False},
        },
        {"procname": "dblink_exec", "params": {"connstr": dsn, "sql": insert}},
        {"procname": "public.dblink_exec", "params": {"connstr": dsn, "sql": insert}},
        {"procname": "information_schema._pg_truetypid", "params": {}},
    ]
    for body in refused:
        answer = call(alter, **body)
        assert (answer.status_code, answer.get_json()) == (403, {}), body
    assert postgres.count() == 8  # dblink wrote nothing
    assert [line["procedure"] for line in _refusals(caplog)] == [b["procname"] for b in refused]
    assert all(line["actor_id"] == alter.userid for line in _refusals(caplog))
    # The user's own routines still run for ALTER; FULL runs the system ones, as /query may.
    rows = call(alter, procname="people_older_than", params={"min_age": 20})
    assert [row["ID"] for row in rows.get_json()] == list(range(1, 9))
    harmless = {**xml, "query": "SELECT 1 AS one"}
    answer = call(full, procname="query_to_xml", params=harmless)
    assert answer.status_code == 200 and "<one>1</one>" in json.dumps(answer.get_json())


def test_postgresql_an_exec_job_of_a_system_routine_fails_below_full(env, postgres):
    token, alter, _, _ = _callers(env, postgres)
    body = {
        "token": token,
        "procname": "query_to_xml",
        "params": {"query": READ_FILE, "nulls": True, "tableforest": True, "targetns": ""},
    }
    job_id = alter.post("/v1/jobs/exec/postgresql", body).get_json()["jobId"]
    assert env.services.jobs.run_one() == "failed"
    job = alter.get(f"/v1/jobs/{job_id}").get_json()
    assert job["error"] == "query_to_xml is a system routine: FULL and up may run it"


def test_mariadb_routines_of_the_servers_own_schemas_are_refused_below_full(env, mariadb, caplog):
    caplog.set_level(logging.INFO)
    mariadb.reset()
    _, alter, full, call = _callers(env, mariadb)
    drop = f"DROP TABLE `{mariadb.connection['database']}`.`testTable`"
    geometry = {
        "catalog": "",
        "t_schema": mariadb.connection["database"],
        "t_name": "testTable",
        "geometry_column": "Name",
    }
    for procname, params in (
        ("sys.execute_prepared_stmt", {"in_query": drop}),
        ("mysql.DropGeometryColumn", geometry),
    ):
        answer = call(alter, procname=procname, params=params)
        assert (answer.status_code, answer.get_json()) == (403, {}), procname
    # Unqualified, on a connection whose database is `sys`: the catalogue says where it lives.
    in_sys = env.connection({**mariadb.connection, "database": "sys"}, name="in-sys")
    env.grant(in_sys, alter)
    answer = alter.post(
        "/v1/exec/mysql",
        {"token": in_sys, "procname": "execute_prepared_stmt", "params": {"in_query": drop}},
    )
    assert (answer.status_code, answer.get_json()) == (403, {})
    assert mariadb.count() == 8  # the table and its columns are still there
    assert len(_refusals(caplog)) == 3
    people = call(alter, procname="people_by_sex", params={"wanted_sex": "Female"})
    assert people.get_json() == [[{"ID": 4}, {"ID": 5}, {"ID": 8}], [{"people": 3}]]
    scratch = f"`{mariadb.connection['database']}`.`scratch`"
    with mariadb.engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {scratch} (n INT)"))
    answer = call(
        full, procname="sys.execute_prepared_stmt", params={"in_query": f"DROP TABLE {scratch}"}
    )
    assert answer.status_code == 200, answer.get_json()
    assert not mariadb.rows("SHOW TABLES LIKE 'scratch'")
