"""A job's connection to a target, registered for native cancel, and its errors made clean.

Shared by the job runner (one transaction per job) and transfers (a source and a target side).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from ...drivers.base import Target
from ...drivers.failures import connect_failure, statement_failure
from ...drivers.pools import PoolRegistry
from ...errors import ApiError
from ...store.jobs import LeaseLost
from .. import run
from .cancel import Running
from .pages import Cancelled


@contextmanager
def connected(
    pools: PoolRegistry, target: Target, running: Running, resets: bool = False
) -> Iterator[tuple[Engine, Connection]]:
    """A connection to `target` registered with `running` for native cancel; rolled back (or
    closed, after a cancel) when the block fails; with `resets`, its session state is reset
    before it goes back to the pool (caller SQL may have changed it)."""
    engine = pools.engine(target)
    try:
        conn = engine.connect()
    except SQLAlchemyError as exc:
        raise connect_failure(exc, target) from None
    backstop = None
    try:
        running.attach(target.driver, engine, conn.connection.dbapi_connection)
        if resets:
            backstop = run.arm_backstop(
                target, engine, running.dbapi_connection, running.backend_id
            )
        if running.cancelled.is_set():  # asked for before there was a statement to cancel
            raise Cancelled()
        yield engine, conn
    except BaseException as exc:
        running.detach()
        # The database's own error, where database_errors raised a clean one from it: a
        # cancelled statement's connection must be closed, not rolled back and reused.
        cause = exc.__context__ if isinstance(exc, ApiError) and exc.__context__ else exc
        run._after_failure(conn, cause, target)
        raise
    finally:
        if backstop is not None:
            run.BACKSTOPS.withdraw(backstop)
        running.detach()
        if resets:
            run._end_session(conn, target)
        conn.close()


@contextmanager
def database_errors(conn: Connection, target: Target) -> Iterator[None]:
    """Database errors on `conn` become the target's clean 400s (a timeout says so)."""
    try:
        yield
    except (ApiError, Cancelled, LeaseLost):
        raise
    except Exception as exc:
        if run._is_database_error(conn, exc, target):
            raise statement_failure(exc, target) from None
        raise
