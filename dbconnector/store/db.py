"""The metadata database engine and its transactions."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from ..lib.private import private_dir, private_file
from ..lib.writelock import WriteLock


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """An engine for the metadata database: SQLite under the data dir, PostgreSQL or SQL Server."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "mssql":
        # SQL Server (or Babelfish) through our pymssql dialect (drivers/mssql.py), which
        # SQLAlchemy finds through the package's sqlalchemy.dialects entry point.
        if parsed.drivername == "mssql+pymssql":
            parsed = parsed.set(drivername="mssql+dbcpymssql")
        return create_engine(parsed, pool_pre_ping=True, pool_recycle=1800, supports_comments=False)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            private_dir(Path(database).parent)
            private_file(Path(database))
            for left in (Path(database + "-wal"), Path(database + "-shm")):
                if left.exists():  # from a run before the modes were narrowed
                    private_file(left)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _sqlite_transactions(engine)
        if database and database != ":memory:":
            engine.dbc_write_lock = WriteLock(Path(database + ".writelock"))  # type: ignore[attr-defined]
        return engine
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True, pool_recycle=1800
    )


def _sqlite_transactions(engine: Engine) -> None:
    """Foreign keys on, WAL for concurrent readers, and BEGIN IMMEDIATE where a write must not race.

    pysqlite's own transaction handling defers BEGIN until the first write, so a read-then-write
    (the last-OWNER check) could interleave with another process. We emit BEGIN ourselves.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("dbc_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        yield conn


@contextmanager
def write(engine: Engine, serialize: bool = False) -> Iterator[Connection]:
    """A transaction that commits on success and rolls back on any error.

    serialize=True takes SQLite's write lock at BEGIN; on other backends callers lock rows
    with SELECT ... FOR UPDATE.
    """
    lock = getattr(engine, "dbc_write_lock", None) or contextlib.nullcontext()
    # The connection is checked out before the lock and returned after it: the pool's work
    # (and its reset on return) need not hold up the other writers.
    with engine.connect() as conn, lock:
        if serialize:
            conn = conn.execution_options(dbc_immediate=True)
        with conn.begin():
            yield conn
