"""A network target never reaches the metadata database, after each driver's own defaults: every
host of a libpq list, the PG* variables, the database libpq derives from the user name, a
MySQL or SQL Server metadata server whose databases reach each other by name."""

from __future__ import annotations

import pytest

from dbconnector.drivers import DRIVERS
from dbconnector.drivers.confinement import METADATA_SERVER, Confinement
from dbconnector.errors import BadRequest

PG_META = "postgresql+psycopg://postgres@127.0.0.1:5432/attack_meta"
MYSQL_META = "mysql+pymysql://root@127.0.0.1:3306/meta"
MSSQL_META = "mssql+pymssql://sa:pw@127.0.0.1:1433/meta"
_PG_ENV = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")


@pytest.fixture(autouse=True)
def _no_libpq_environment(monkeypatch):
    for name in _PG_ENV:
        monkeypatch.delenv(name, raising=False)


def _refused(tmp_path, metadata_url: str, spec: dict, driver: str | None = None) -> bool:
    rules = Confinement(tmp_path, metadata_url, (tmp_path,))
    name = driver or spec.get("driver") or ""
    drivers = [DRIVERS[name]] if name else list(dict.fromkeys(DRIVERS.values()))
    try:
        rules.check(spec, driver, [e for d in drivers for e in d.endpoints(spec)])
    except BadRequest as refused:
        assert refused.message == METADATA_SERVER
        return True
    return False


@pytest.mark.parametrize(
    "spec",
    [
        # the two reproductions
        {"driver": "postgresql", "host": "nonexistent.invalid,127.0.0.1", "port": 5432,
         "database": "attack_meta", "user": "postgres"},
        {"driver": "postgresql", "host": "127.0.0.1", "user": "attack_meta"},
        {"driver": "pg", "server": "db.invalid, localhost", "database": "ATTACK_META"},
        {"host": "127.0.0.1,db.invalid", "database": "attack_meta", "user": "x"},  # undeclared
        {"driver": "postgresql", "host": ",db.invalid", "database": "attack_meta"},  # a socket
    ],
)  # fmt: skip
def test_postgresql_forms_that_reach_the_metadata_database(tmp_path, spec):
    assert _refused(tmp_path, PG_META, spec)


@pytest.mark.parametrize(
    ("variables", "spec"),
    [
        ({"PGUSER": "attack_meta"}, {"driver": "postgresql", "host": "127.0.0.1"}),
        ({"PGDATABASE": "attack_meta"}, {"driver": "postgresql", "host": "127.0.0.1", "user": "u"}),
        ({"PGHOST": "127.0.0.1"}, {"driver": "postgresql", "database": "attack_meta"}),
        ({"PGHOSTADDR": "127.0.0.1"},
         {"driver": "postgresql", "host": "db.invalid", "database": "attack_meta"}),
        ({"PGPORT": "5432"},
         {"driver": "postgresql", "host": "127.0.0.1", "database": "attack_meta"}),
    ],
)  # fmt: skip
def test_postgresql_defaults_from_the_environment_count(tmp_path, monkeypatch, variables, spec):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert _refused(tmp_path, PG_META, spec)


def test_postgresql_targets_elsewhere_pass(tmp_path):
    for spec in (
        {"driver": "postgresql", "host": "127.0.0.1", "database": "reports", "user": "u"},
        {"driver": "postgresql", "host": "127.0.0.1", "user": "reports"},
        {"driver": "postgresql", "host": "127.0.0.1", "port": 5433, "database": "attack_meta"},
        {"driver": "postgresql", "host": "db.invalid,db2.invalid", "database": "attack_meta"},
    ):
        assert not _refused(tmp_path, PG_META, spec), spec


def test_libpq_host_options_cannot_be_set_in_a_connection_string():
    for option in ("hostaddr", "service", "host", "dbname", "options"):
        with pytest.raises(BadRequest, match="not known to the postgresql driver"):
            DRIVERS["postgresql"].check_options({"options": {option: "x"}})


def test_mysql_metadata_server_is_refused_whatever_the_database(tmp_path):
    for spec in (
        {"driver": "mysql", "host": "127.0.0.1"},  # no database: USE or db.table reaches it
        {"driver": "mariadb", "host": "localhost", "database": "other"},
        {"driver": "mysql", "schema": "meta"},  # PyMySQL's default host is localhost
    ):
        assert _refused(tmp_path, MYSQL_META, spec), spec
    elsewhere = {"driver": "mysql", "host": "127.0.0.1", "port": 3307}
    assert not _refused(tmp_path, MYSQL_META, elsewhere)


def test_sql_server_metadata_server_is_refused_whatever_the_database(tmp_path):
    for spec in (
        {"driver": "mssql", "server": "127.0.0.1,1433", "database": "other"},
        {"driver": "mssql", "host": "localhost:1433"},  # the login's default database
        {"driver": "mssql", "host": "127.0.0.1\\SQLEXPRESS"},  # an instance's port is unknown
        {"driver": "sqlserver", "host": "127.0.0.1"},
    ):
        assert _refused(tmp_path, MSSQL_META, spec), spec
    assert not _refused(tmp_path, MSSQL_META, {"driver": "mssql", "host": "127.0.0.1,1434"})
