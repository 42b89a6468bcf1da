"""A connection to a target for one piece of work: the one helper the synchronous path, jobs and
transfers share.

`opened` connects (a failure to connect is the target's clean 503), lets a watcher register the
DB-API connection for native cancel (jobs), rolls back after a failure (or closes the connection
when a cancelled statement or a dead server may have left it mid-protocol), resets the session
when caller SQL may have changed it, and closes it. `database_errors` turns the database's own
errors into the target's clean 400s; `transaction` is both around one committed transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from ..drivers.base import Driver, Target
from ..drivers.failures import connect_failure, statement_failure
from ..drivers.pools import PoolRegistry
from ..errors import ApiError

log = logging.getLogger(__name__)


class Watcher(Protocol):
    """Who may cancel the statement running on a connection (a job's jobs/cancel.Running)."""

    def attach(self, driver: Driver, engine: Engine, dbapi_connection: Any) -> None: ...

    def detach(self) -> None: ...


def connect(pools: PoolRegistry, target: Target) -> tuple[Engine, Connection]:
    """A pooled connection to `target`; a failure to connect is its clean error."""
    engine = pools.engine(target)
    try:
        return engine, engine.connect()
    except SQLAlchemyError as exc:
        raise connect_failure(exc, target) from None


@contextmanager
def opened(
    pools: PoolRegistry, target: Target, watcher: Watcher | None = None, resets: bool = False
) -> Iterator[tuple[Engine, Connection]]:
    """A connection to `target`, registered with `watcher` while the block runs; rolled back
    (or closed) when the block fails; with `resets`, its session state is reset before it goes
    back to the pool (caller SQL may have changed it)."""
    engine, conn = connect(pools, target)
    try:
        if watcher is not None:
            watcher.attach(target.driver, engine, conn.connection.dbapi_connection)
        yield engine, conn
    except BaseException as exc:
        if watcher is not None:
            watcher.detach()
        # The database's own error, where database_errors raised a clean one from it: a
        # cancelled statement's connection must be closed, not rolled back and reused.
        cause = exc.__context__ if isinstance(exc, ApiError) and exc.__context__ else exc
        after_failure(conn, cause, target)
        raise
    finally:
        if watcher is not None:
            watcher.detach()
        if resets:
            end_session(conn, target)
        conn.close()


@contextmanager
def database_errors(conn: Connection, target: Target) -> Iterator[None]:
    """Database errors on `conn` become the target's clean 400s (a timeout says so)."""
    try:
        yield
    except ApiError:
        raise
    except Exception as exc:
        if is_database_error(conn, exc, target):
            raise statement_failure(exc, target) from None
        raise


@contextmanager
def transaction(
    pools: PoolRegistry, target: Target, watcher: Watcher | None = None, resets: bool = False
) -> Iterator[Connection]:
    """`opened` around one transaction, committed when the block succeeds; database errors
    clean."""
    with opened(pools, target, watcher, resets) as (_, conn), database_errors(conn, target):
        begun = conn.begin()
        yield conn
        begun.commit()


def is_database_error(conn: Connection, exc: BaseException, target: Target) -> bool:
    # Raw DB-API cursors (batches, procedures) raise the driver's own exceptions.
    known = (SQLAlchemyError, conn.dialect.loaded_dbapi.Error, *target.driver.extra_errors)
    return isinstance(exc, known)


def after_failure(conn: Connection, exc: BaseException, target: Target) -> None:
    """Roll back; a cancelled statement or a dead connection is closed, never reused."""
    if conn.invalidated:
        return
    if target.driver.is_timeout(getattr(exc, "orig", exc)):
        conn.invalidate()  # a cancelled statement can leave the connection mid-protocol
        return
    try:
        conn.rollback()
    except Exception:
        conn.invalidate()


def end_session(conn: Connection, target: Target) -> None:
    """Reset what caller SQL may have changed in the session; a connection that cannot be
    reset is closed, never reused."""
    if conn.invalidated:
        return
    try:
        target.driver.end_session(conn)
    except Exception:
        log.debug("resetting a target connection failed; closing it", exc_info=True)
        conn.invalidate()
