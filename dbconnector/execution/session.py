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
from functools import partial
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from ..drivers.base import Driver, Target
from ..drivers.failures import connect_failure, statement_failure
from ..drivers.pools import PoolRegistry
from ..errors import ApiError
from ..lib.deadlines import Deadlines

log = logging.getLogger(__name__)

BACKSTOPS = Deadlines("dbc-statement-backstop")
BACKSTOP_MARGIN = 2.0  # seconds past the statement timeout before the client cancels


class Watcher(Protocol):
    """Who may cancel the statement running on a connection (a job's jobs/cancel.Running)."""

    backend_id: Any  # the server's id of the attached connection

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
    back to the pool (caller SQL may have changed it), and its statements are cancelled from here
    past the statement timeout, which that SQL may have turned off (`arm_backstop`)."""
    engine, conn = connect(pools, target)
    backstop = None
    try:
        dbapi_connection = conn.connection.dbapi_connection
        if watcher is not None:
            watcher.attach(target.driver, engine, dbapi_connection)
        if resets:
            backend_id = (
                watcher.backend_id
                if watcher is not None
                else target.driver.backend_id(dbapi_connection)
            )
            backstop = arm_backstop(target, engine, dbapi_connection, backend_id)
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
        if backstop is not None:
            BACKSTOPS.withdraw(backstop)
        if watcher is not None:
            watcher.detach()
        if resets:
            end_session(conn, target)
        conn.close()


def arm_backstop(target: Target, engine: Any, dbapi_connection: Any, backend_id: Any) -> int:
    """Caller SQL may turn the server's statement timeout off (`SET LOCAL statement_timeout =
    0`): past it, plus a margin for the server's own cancel, the statement is cancelled from here,
    which that SQL cannot change. Withdraw it (BACKSTOPS.withdraw) when the work ends."""
    return BACKSTOPS.arm(
        target.statement_timeout + BACKSTOP_MARGIN,
        partial(target.driver.cancel, engine, dbapi_connection, backend_id),
    )


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
