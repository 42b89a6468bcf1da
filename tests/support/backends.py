"""Target databases for the execution tests: one class per driver, with its DDL and test data.

Each test gets freshly created tables (testTable with the specification's 8 rows, `kinds` with one
column per interesting type) in a real database: a SQLite file, the local PostgreSQL and MariaDB,
and SQL Server or Babelfish when DBCONNECTOR_TEST_MSSQL names one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Engine, create_engine, text

from dbconnector.store.seed import TEST_TABLE_ROWS

MSSQL_URL = os.environ.get("DBCONNECTOR_TEST_MSSQL", "")


def connection_for(url: str, driver: str, port: int) -> dict[str, Any]:
    """The DBConnector connection string for a database URL (scheme+driver://user:pw@host/db)."""
    parts = urlsplit(url)
    connection: dict[str, Any] = {
        "driver": driver,
        "host": parts.hostname,
        "port": parts.port or port,
        "database": parts.path.lstrip("/"),
        "user": unquote(parts.username or ""),
    }
    if parts.password:
        connection["password"] = unquote(parts.password)
    return connection


@dataclass
class Backend:
    name: str  # the :driver path segment
    engine: Engine  # direct access, to set up and inspect
    connection: dict[str, Any]  # the connection string DBConnector stores
    identity_column: str = ""
    extra_ddl: list[str] = field(default_factory=list)

    # --- per-dialect SQL, overridden below ---------------------------------------------------
    string = "VARCHAR(255)"
    kinds_ddl = ""

    def sleep_sql(self, seconds: int) -> str:
        raise NotImplementedError

    def kill_other_sessions(self) -> None:
        raise NotImplementedError

    def procedures(self) -> list[str]:
        return []

    def ident(self, name: str) -> str:
        return self.engine.dialect.identifier_preparer.quote_identifier(name)

    # --- shared ------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(self.drop_view("females"))
            for table in ("testTable", "kinds", "wide"):
                conn.exec_driver_sql(self.drop_table(table))
            conn.exec_driver_sql(
                f"CREATE TABLE {self.ident('testTable')} ({self.identity_column}, "
                f"{self.ident('Name')} VARCHAR(100), {self.ident('Address')} VARCHAR(255), "
                f"{self.ident('Sex')} VARCHAR(10), {self.ident('Age')} INTEGER)"
            )
            for _, name, address, sex, age in TEST_TABLE_ROWS:
                conn.execute(
                    text(
                        f"INSERT INTO {self.ident('testTable')} ({self.ident('Name')}, "
                        f"{self.ident('Address')}, {self.ident('Sex')}, {self.ident('Age')}) "
                        "VALUES (:n, :a, :s, :g)"
                    ),
                    {"n": name, "a": address, "s": sex, "g": age},
                )
            conn.exec_driver_sql(self.kinds_ddl)
            conn.exec_driver_sql(
                f"CREATE VIEW {self.ident('females')} AS SELECT {self.ident('ID')}, "
                f"{self.ident('Name')} FROM {self.ident('testTable')} "
                f"WHERE {self.ident('Sex')} = 'Female'"
            )
            for statement in self.extra_ddl:
                conn.exec_driver_sql(statement)
        self.install_procedures()

    def drop_table(self, table: str) -> str:
        return f"DROP TABLE IF EXISTS {self.ident(table)}"

    def drop_view(self, view: str) -> str:
        return f"DROP VIEW IF EXISTS {self.ident(view)}"

    def install_procedures(self) -> None:
        statements = self.procedures()
        if not statements:
            return
        with self.engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)

    def rows(self, sql: str) -> list[tuple]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql)]

    def rows_with(self, sql: str, parameters: dict[str, Any]) -> list[tuple]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql, parameters)]

    def count(self, table: str = "testTable") -> int:
        return self.rows(f"SELECT COUNT(*) FROM {self.ident(table)}")[0][0]

    def dispose(self) -> None:
        self.engine.dispose()


class SQLiteBackend(Backend):
    kinds_ddl = (
        'CREATE TABLE "kinds" ("id" INTEGER PRIMARY KEY, "dec" NUMERIC, "day" DATE, '
        '"at" TIMESTAMP, "flag" BOOLEAN, "uid" VARCHAR(36), "bin" BLOB, "f" REAL, "txt" TEXT)'
    )

    @classmethod
    def create(cls, directory: Path) -> SQLiteBackend:
        path = directory / "target.db"
        path.touch()
        return cls(
            name="sqlite",
            engine=create_engine(f"sqlite:///{path}"),
            connection={"driver": "sqlite", "database": str(path)},
            identity_column='"ID" INTEGER PRIMARY KEY AUTOINCREMENT',
        )

    def sleep_sql(self, seconds: int) -> str:
        # SQLite has no sleep: a long recursive count keeps the VM busy
        return (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
        )


class PostgresBackend(Backend):
    kinds_ddl = (
        'CREATE TABLE "kinds" ("id" INTEGER PRIMARY KEY, "dec" NUMERIC(38, 10), "day" DATE, '
        '"at" TIMESTAMP, "flag" BOOLEAN, "uid" UUID, "bin" BYTEA, "f" DOUBLE PRECISION, '
        '"txt" TEXT)'
    )

    @classmethod
    def create(cls, url: str) -> PostgresBackend:
        return cls(
            name="postgresql",
            engine=create_engine(url),
            connection=connection_for(url, "postgresql", 5432),
            identity_column='"ID" INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY',
        )

    def drop_table(self, table: str) -> str:
        return f"DROP TABLE IF EXISTS {self.ident(table)} CASCADE"

    def sleep_sql(self, seconds: int) -> str:
        return f"SELECT pg_sleep({seconds})"

    def kill_other_sessions(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'dbconnector' AND datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            conn.commit()

    def procedures(self) -> list[str]:
        return [
            "CREATE OR REPLACE PROCEDURE add_person(person_name VARCHAR, person_age INTEGER, "
            "INOUT new_id INTEGER DEFAULT NULL, INOUT greeting VARCHAR DEFAULT NULL) "
            "LANGUAGE plpgsql AS $$ BEGIN "
            'INSERT INTO "testTable" ("Name", "Age") VALUES (person_name, person_age) '
            'RETURNING "ID" INTO new_id; '
            "greeting := 'Hello ' || person_name; END $$",
            "CREATE OR REPLACE FUNCTION people_older_than(min_age INTEGER) "
            'RETURNS TABLE ("ID" INTEGER, "Name" VARCHAR) LANGUAGE sql AS $$ '
            'SELECT "ID", "Name" FROM "testTable" WHERE "Age" > min_age ORDER BY "ID" $$',
        ]


class MySQLBackend(Backend):
    kinds_ddl = (
        "CREATE TABLE `kinds` (`id` INTEGER PRIMARY KEY, `dec` DECIMAL(38, 10), `day` DATE, "
        "`at` DATETIME(6), `flag` BOOLEAN, `uid` CHAR(36), `bin` VARBINARY(64), `f` DOUBLE, "
        "`txt` TEXT)"
    )

    @classmethod
    def create(cls, url: str) -> MySQLBackend:
        return cls(
            name="mysql",
            engine=create_engine(url),
            connection=connection_for(url, "mysql", 3306),
            identity_column="`ID` INTEGER AUTO_INCREMENT PRIMARY KEY",
        )

    def sleep_sql(self, seconds: int) -> str:
        return f"SELECT SLEEP({seconds}) AS slept"

    def kill_other_sessions(self) -> None:
        database = self.connection["database"]
        with self.engine.connect() as conn:
            ids = (
                conn.exec_driver_sql(
                    "SELECT ID FROM information_schema.PROCESSLIST "
                    "WHERE DB = %s AND ID <> CONNECTION_ID()",
                    (database,),
                )
                .scalars()
                .all()
            )
            for pid in ids:
                conn.exec_driver_sql(f"KILL {int(pid)}")

    def procedures(self) -> list[str]:
        return [
            "DROP PROCEDURE IF EXISTS add_person",
            "CREATE PROCEDURE add_person(IN person_name VARCHAR(100), IN person_age INT, "
            "OUT new_id INT, OUT greeting VARCHAR(100)) BEGIN "
            "INSERT INTO `testTable` (`Name`, `Age`) VALUES (person_name, person_age); "
            "SET new_id = LAST_INSERT_ID(); SET greeting = CONCAT('Hello ', person_name); "
            "SELECT `ID`, `Name` FROM `testTable` WHERE `ID` = new_id; "
            "SELECT COUNT(*) AS people FROM `testTable`; END",
            "DROP PROCEDURE IF EXISTS people_by_sex",
            "CREATE PROCEDURE people_by_sex(IN wanted_sex VARCHAR(10)) BEGIN "
            "SELECT `ID` FROM `testTable` WHERE `Sex` = wanted_sex ORDER BY `ID`; "
            "SELECT COUNT(*) AS people FROM `testTable` WHERE `Sex` = wanted_sex; END",
        ]


class MSSQLBackend(Backend):
    kinds_ddl = (
        "CREATE TABLE [kinds] ([id] INTEGER PRIMARY KEY, [dec] DECIMAL(38, 10), [day] DATE, "
        "[at] DATETIME2, [flag] BIT, [uid] UNIQUEIDENTIFIER, [bin] VARBINARY(64), [f] FLOAT, "
        "[txt] NVARCHAR(MAX))"
    )

    @classmethod
    def create(cls, url: str) -> MSSQLBackend:
        connection = connection_for(url, "mssql", 1433)
        import dbconnector.drivers.mssql  # noqa: F401 - registers mssql+dbcpymssql

        engine = create_engine(
            "mssql+dbcpymssql://",
            connect_args={
                "server": connection["host"],
                "port": str(connection["port"]),
                "user": connection["user"],
                "password": connection.get("password", ""),
                "database": connection["database"],
                "login_timeout": 5,
            },
            supports_comments=False,
        )
        return cls(
            name="mssql",
            engine=engine,
            connection=connection,
            identity_column="[ID] INTEGER IDENTITY(1, 1) PRIMARY KEY",
        )

    def drop_table(self, table: str) -> str:
        return f"IF OBJECT_ID(N'{table}', N'U') IS NOT NULL DROP TABLE {self.ident(table)}"

    def drop_view(self, view: str) -> str:
        return f"IF OBJECT_ID(N'{view}', N'V') IS NOT NULL DROP VIEW {self.ident(view)}"

    def kill_other_sessions(self) -> None:
        import pymssql

        c = self.connection
        # KILL refuses to run inside a transaction: a raw autocommit connection
        with pymssql.connect(
            server=c["host"],
            port=str(c["port"]),
            user=c["user"],
            password=c.get("password", ""),
            database=c["database"],
            autocommit=True,
        ) as raw:
            cursor = raw.cursor()
            # Only this login's own TDS sessions: Babelfish lists PostgreSQL backends in
            # dm_exec_sessions too (application_name 'dbconnector'), and KILL refuses those.
            cursor.execute(
                "SELECT s.session_id FROM sys.dm_exec_sessions s "
                "JOIN sys.dm_exec_connections c ON c.session_id = s.session_id "
                "WHERE s.program_name = 'dbconnector' AND s.login_name = SUSER_NAME() "
                "AND s.session_id <> @@SPID"
            )
            for (session,) in cursor.fetchall():
                try:
                    cursor.execute(f"KILL {int(session)}")
                except pymssql.DatabaseError:  # it ended between the list and the KILL
                    continue

    def sleep_sql(self, seconds: int) -> str:
        # Babelfish has no WAITFOR; a large cross join keeps any TDS server busy instead
        return (
            "SELECT COUNT_BIG(*) AS n FROM sys.all_objects a CROSS JOIN sys.all_objects b "
            "CROSS JOIN sys.all_objects c"
        )

    def procedures(self) -> list[str]:
        return [
            "IF OBJECT_ID(N'add_person', N'P') IS NOT NULL DROP PROCEDURE add_person",
            "CREATE PROCEDURE add_person @person_name VARCHAR(100), @person_age INT, "
            "@new_id INT OUTPUT, @greeting VARCHAR(100) OUTPUT AS BEGIN SET NOCOUNT ON; "
            "INSERT INTO [testTable] ([Name], [Age]) VALUES (@person_name, @person_age); "
            "SET @new_id = SCOPE_IDENTITY(); SET @greeting = 'Hello ' + @person_name; "
            "SELECT [ID], [Name] FROM [testTable] WHERE [ID] = @new_id; "
            "SELECT COUNT(*) AS people FROM [testTable]; END",
            "IF OBJECT_ID(N'people_by_sex', N'P') IS NOT NULL DROP PROCEDURE people_by_sex",
            "CREATE PROCEDURE people_by_sex @wanted_sex VARCHAR(10) AS BEGIN SET NOCOUNT ON; "
            "SELECT [ID] FROM [testTable] WHERE [Sex] = @wanted_sex ORDER BY [ID]; "
            "SELECT COUNT(*) AS people FROM [testTable] WHERE [Sex] = @wanted_sex; END",
        ]
