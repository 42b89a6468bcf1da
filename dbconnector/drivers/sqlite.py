"""SQLite targets (the demo, and small local databases): `database` names the file.

The file must exist (it is opened read-write, never created) and pass confinement.py's rules, which
are checked again at every new connection and give the real path that is opened, so a file swapped
for a symlink later cannot reach the metadata store. An authorizer refuses ATTACH and VACUUM INTO,
the SQL functions that hand out or take native pointers or touch files (fts3_tokenizer crashes the
process with a forged pointer where the library enables it, as Debian's does), and a writable
schema, so /query can neither reach other files on the server nor corrupt the process; and a
statement runs under a deadline enforced by a progress handler (SQLite has no statement timeout of
its own).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import quote

from sqlalchemy import URL, Connection, Dialect, Engine, event
from sqlalchemy.dialects.sqlite.base import SQLiteIdentifierPreparer

from .base import Driver, Endpoint, ResultSink, Target, drain
from .confinement import rules_for
from .transfer_values import TO_SQLITE

_DENIED = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH}
# Functions that hand out or take native pointers, load code or reach files; the authorizer is
# given the name as the statement spells it, so it is compared in lower case.
DENIED_FUNCTIONS = frozenset(
    {
        "fts3_tokenizer",
        "fts5",
        "load_extension",
        "readfile",
        "writefile",
        "edit",
        "fsdir",
        "zipfile",
        "sqlar_compress",
        "sqlar_uncompress",
    }
)
DENIED_PRAGMAS = frozenset({"writable_schema"})
_SQLITE_FUNCTION = getattr(sqlite3, "SQLITE_FUNCTION", 31)
DENIED_MESSAGE = (
    "ATTACH, DETACH, VACUUM INTO, PRAGMA writable_schema and the functions "
    + ", ".join(sorted(DENIED_FUNCTIONS))
    + " are disabled"
)


def _authorize(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
    if action in _DENIED:
        return sqlite3.SQLITE_DENY
    if action == _SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in DENIED_PRAGMAS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def harden(dbapi_connection: sqlite3.Connection) -> None:
    """The authorizer, and where the sqlite3 module can set them (Python 3.12+), the library's
    own defensive mode and its fts3_tokenizer switch as a second line."""
    dbapi_connection.set_authorizer(_authorize)
    setconfig = getattr(dbapi_connection, "setconfig", None)
    if setconfig is not None:
        setconfig(sqlite3.SQLITE_DBCONFIG_DEFENSIVE, True)
        setconfig(sqlite3.SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, False)


class Deadline:
    """Started before each statement; the progress handler interrupts the statement past it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = float("inf")

    def start(self) -> None:
        self.at = time.monotonic() + self.seconds

    def passed(self) -> int:
        return 1 if time.monotonic() > self.at else 0


def _adapt_decimal(value: Decimal) -> float | str:
    """Exact decimals as SQLite's REAL when that loses nothing, else as text."""
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else str(value)


sqlite3.register_adapter(Decimal, _adapt_decimal)


class SQLiteDriver(Driver):
    name = "sqlite"
    aliases = ("sqlite3",)
    sqlalchemy_name = "sqlite"
    option_keys = frozenset({"read_only"})
    # A file has no server that could drop a pooled connection; the ping would be pure overhead.
    pre_ping = False
    # sqlite3 already runs in autocommit between our own BEGINs (isolation_level None): a select
    # needs only to skip the BEGIN. (SQLAlchemy's AUTOCOMMIT level would reset the connection to
    # pysqlite's implicit transactions afterwards.)
    read_options: ClassVar[dict[str, Any]] = {"dbc_no_begin": True}
    queues_writes = True
    procedures = False

    def url(self, spec: Any) -> URL:
        # make_engine has checked the path (confinement.sqlite_file), and do_connect opens the
        # real path it resolves again at every connect; this URL only names the dialect.
        return URL.create(
            "sqlite", database=_uri(str(spec["database"]), spec), query={"uri": "true"}
        )

    def connect_args(self, target: Target) -> dict[str, Any]:
        return {"timeout": target.connect_timeout, "check_same_thread": False}

    def endpoints(self, spec: Any) -> list[Endpoint]:
        return []  # a file, checked by confinement.sqlite_file

    def make_engine(self, target: Target, settings: Any) -> Engine:
        rules = rules_for(settings)
        rules.sqlite_file(target.spec)
        engine = super().make_engine(target, settings)
        quote_with_backticks(engine.dialect)

        @event.listens_for(engine, "do_connect")
        def _confined(dialect: Any, record: Any, cargs: list, cparams: dict) -> None:
            # Resolved now, not when the pool was made: the path may have become a symlink since.
            cargs[0] = _uri(rules.sqlite_file(target.spec), target.spec)

        return engine

    def install_events(self, engine: Engine, target: Target) -> None:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: sqlite3.Connection, record: Any) -> None:
            deadline = Deadline(target.statement_timeout)
            record.info["deadline"] = deadline
            harden(dbapi_connection)
            dbapi_connection.set_progress_handler(deadline.passed, 1000)
            dbapi_connection.execute("PRAGMA foreign_keys=ON")
            # We emit BEGIN ourselves (below): pysqlite's own would leave DDL outside the
            # transaction, and a /query batch must be all-or-nothing.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # A single select needs no transaction: one statement is atomic on its own, and the
            # BEGIN would be a whole extra execute on the hottest path.
            if not conn.get_execution_options().get("dbc_no_begin"):
                conn.exec_driver_sql("BEGIN")

        @event.listens_for(engine, "before_cursor_execute")
        def _start_deadline(conn: Connection, *_: Any) -> None:
            _deadline(conn).start()

    def run_batch(self, conn: Connection, sql: str, sink: ResultSink) -> None:
        """sqlite3 runs one statement per execute(): split the batch where SQLite says a
        statement is complete (quotes, comments and trigger bodies are respected)."""
        deadline = _deadline(conn)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for statement in split_statements(sql):
                deadline.start()
                cursor.execute(statement)
                drain(cursor, sink)
        finally:
            cursor.close()

    def cancel(self, engine: Engine, dbapi_connection: Any, backend_id: Any) -> None:
        # sqlite3's interrupt() is the one call that is safe from another thread.
        dbapi_connection.interrupt()

    write_adapters: ClassVar[dict[type, Callable[[Any], Any]]] = TO_SQLITE

    def message(self, error: BaseException) -> str:
        text = str(error)
        if "not authorized" in text or "authorization denied" in text:
            return f"{text} ({DENIED_MESSAGE})"
        return text

    def is_timeout(self, error: BaseException) -> bool:
        return isinstance(error, sqlite3.OperationalError) and str(error) == "interrupted"


def _uri(path: str, spec: Any) -> str:
    mode = "ro" if (spec.get("options") or {}).get("read_only") else "rw"
    return f"file:{quote(path)}?mode={mode}"


def quote_with_backticks(dialect: Dialect) -> Dialect:
    """SQLite reads a "double-quoted" name that matches no column as a string literal, so a
    misspelt field would filter on a constant instead of failing. `Backticks` are always
    identifiers: quote with those."""
    dialect.identifier_preparer = SQLiteIdentifierPreparer(
        dialect, initial_quote="`", escape_quote="`"
    )
    return dialect


def _deadline(conn: Connection) -> Deadline:
    return conn.connection.info["deadline"]


def split_statements(sql: str) -> list[str]:
    statements, current = [], ""
    for piece in sql.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \t\r\n;"):
                statements.append(current.strip())
            current = ""
    tail = current.rstrip(";").strip()
    if tail:
        statements.append(tail)
    return statements
