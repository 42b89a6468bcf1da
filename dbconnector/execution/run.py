"""Running a compiled request against its target, from connecting to the JSON body.

- /select streams: the first rows are fetched before the response starts (so a failing statement is
  still a clean 400), the rest are written as they come, never held whole in memory.
- Writes run in one transaction: every row or none, every statement of a batch or none.
- /query and /exec collect their result sets in a spool (memory, then a temporary file) and answer
  only after the commit, so a failure in the last statement still gives a clean error and no
  partial write. Their SQL may change session state, so the connection is reset (PostgreSQL) or
  closed (others) before another caller can get it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from typing import Any

from flask import Response
from sqlalchemy import Connection, Delete, Insert, Select, Update
from sqlalchemy.exc import SQLAlchemyError

from ..app_state import Services
from ..drivers.base import FETCH_ROWS, ProcedureCall, Target
from ..drivers.failures import connect_failure, statement_failure
from ..lib.deadlines import Deadlines
from ..sql import plan_cache as plans
from ..sql.statements import Place
from ..telemetry.requestlog import note_rows
from .results import ResultSpool, dumps, encode_rows

log = logging.getLogger(__name__)

BACKSTOPS = Deadlines("dbc-statement-backstop")
BACKSTOP_MARGIN = 2.0  # seconds past the statement timeout before the client cancels

JSON = "application/json"


def _connect(svc: Services, target: Target) -> Connection:
    assert svc.pools is not None
    try:
        return svc.pools.engine(target).connect()
    except SQLAlchemyError as exc:
        raise connect_failure(exc, target) from None


@contextmanager
def _transaction(svc: Services, target: Target, resets: bool = False) -> Iterator[Connection]:
    """A connection to the target inside one transaction: committed if the block succeeds,
    rolled back otherwise. Database errors become clean ApiErrors; the use is counted.

    resets: the block ran caller SQL that may have changed session state (see end_session).
    """
    conn = _connect(svc, target)
    if svc.usage is not None:
        svc.usage.record(target.connection_id)
    backstop = None
    try:
        if resets:
            assert svc.pools is not None
            dbapi_connection = conn.connection.dbapi_connection
            backend_id = target.driver.backend_id(dbapi_connection)
            backstop = arm_backstop(target, svc.pools.engine(target), dbapi_connection, backend_id)
        transaction = conn.begin()
        yield conn
        transaction.commit()
    except Exception as exc:
        _after_failure(conn, exc, target)
        if _is_database_error(conn, exc, target):
            raise statement_failure(exc, target) from None
        raise
    finally:
        if backstop is not None:
            BACKSTOPS.withdraw(backstop)
        if resets:
            _end_session(conn, target)
        conn.close()


def arm_backstop(target: Target, engine: Any, dbapi_connection: Any, backend_id: Any) -> int:
    """Caller SQL may turn the server's statement timeout off (`SET LOCAL statement_timeout =
    0`): past it, plus a margin for the server's own cancel, the statement is cancelled from here,
    which that SQL cannot change. Withdraw it (BACKSTOPS.withdraw) when the work ends."""
    return BACKSTOPS.arm(
        target.statement_timeout + BACKSTOP_MARGIN,
        partial(target.driver.cancel, engine, dbapi_connection, backend_id),
    )


def _is_database_error(conn: Connection, exc: BaseException, target: Target) -> bool:
    # Raw DB-API cursors (batches, procedures) raise the driver's own exceptions.
    known = (SQLAlchemyError, conn.dialect.loaded_dbapi.Error, *target.driver.extra_errors)
    return isinstance(exc, known)


def _after_failure(conn: Connection, exc: BaseException, target: Target) -> None:
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


def _end_session(conn: Connection, target: Target) -> None:
    if conn.invalidated:
        return
    try:
        target.driver.end_session(conn)
    except Exception:  # a connection we cannot reset must not be reused
        log.debug("resetting a target connection failed; closing it", exc_info=True)
        conn.invalidate()


def select(svc: Services, target: Target, place: Place, request: plans.CompiledSelect) -> Response:
    """Most selects are small: run them once with at most FETCH_ROWS + 1 rows on a plain cursor
    (one round trip; autocommit where that costs nothing), as SQL compiled once per shape
    (sql/plan_cache.py), and answer whole. Only when more rows come back is the statement run again
    on a streaming (server-side) cursor."""
    assert svc.pools is not None
    cache = plans.cache_for(svc.pools.engine(target).dialect)
    plan = cache.get(request.key)
    # A shape not seen yet goes through the full builder before any connection is made, so a
    # bad table, field or sort string is a 400 that costs the target nothing.
    statement = None if plan is not None else request.statement(place, request.read_limit)
    if svc.usage is not None:
        svc.usage.record(target.connection_id)
    try:
        columns, rows, plan = _read(svc, target, request, plan, statement)
    except SQLAlchemyError as exc:
        if not getattr(exc, "connection_invalidated", False):
            raise statement_failure(exc, target) from None
        # The pooled connection had died (server restart, killed session): pooled connections
        # are pinged only after being idle (drivers/liveness.py), so a read retries once.
        try:
            columns, rows, plan = _read(svc, target, request, plan, statement)
        except SQLAlchemyError as again:
            raise statement_failure(again, target) from None
    if request.whole or len(rows) <= FETCH_ROWS:  # the whole answer: send it with a Content-Length
        note_rows(len(rows))
        return Response(b"[" + encode_rows(columns, rows) + b"]", mimetype=JSON)
    return _streamed(svc, target, request.statement(place))


def _read(
    svc: Services,
    target: Target,
    request: plans.CompiledSelect,
    plan: plans.Plan | None,
    statement: Select | None,
) -> tuple[list[str], list, plans.Plan]:
    conn = _connect(svc, target)
    try:
        if plan is None:
            assert statement is not None
            # Compiled on a connected engine: dialects learn the server's version on connect.
            plan = plans.compile_plan(conn.dialect, statement, request)
            plans.cache_for(conn.dialect).put(request.key, plan)
        if target.driver.read_options:
            conn = conn.execution_options(**target.driver.read_options)
        result = conn.exec_driver_sql(plan.sql, plan.parameters(request))
        columns = list(result.keys())
        # Rows straight from the DB-API cursor: our columns are untyped, so SQLAlchemy would only
        # wrap each row in a Row object on the way.
        return columns, result.cursor.fetchall(), plan
    except SQLAlchemyError as exc:
        _after_failure(conn, exc, target)
        raise
    finally:
        conn.close()


def _streamed(svc: Services, target: Target, statement: Select) -> Response:
    conn = _connect(svc, target)
    try:
        result = conn.execution_options(stream_results=True, max_row_buffer=FETCH_ROWS).execute(
            statement
        )
        columns = list(result.keys())
        # Through the result, not its cursor: with stream_results SQLAlchemy may already hold
        # rows in its own buffer.
        first = result.fetchmany(FETCH_ROWS)
    except SQLAlchemyError as exc:
        _after_failure(conn, exc, target)
        conn.close()
        raise statement_failure(exc, target) from None
    except BaseException:
        conn.close()
        raise
    return Response(_stream(conn, result, columns, first, target), mimetype=JSON)


def _stream(
    conn: Connection, result: Any, columns: list[str], first: list, target: Target
) -> Iterator[bytes]:
    try:
        yield b"[" + encode_rows(columns, first)
        while rows := result.fetchmany(FETCH_ROWS):
            yield b"," + encode_rows(columns, rows)
        yield b"]"
    except Exception as exc:
        # The status line is gone; the body ends unterminated, so a client's JSON parser fails
        # rather than read a short result as complete.
        log.warning(
            "select on %s failed while streaming: %s", target.token, statement_failure(exc, target)
        )
        conn.invalidate()
    finally:
        result.close()
        conn.close()


def _queued(svc: Services, target: Target) -> Any:
    assert svc.pools is not None
    return svc.pools.write_lock(target) if target.driver.queues_writes else nullcontext()


def insert(svc: Services, target: Target, statement: Insert, rows: list[dict]) -> dict[str, Any]:
    with _queued(svc, target), _transaction(svc, target) as conn:
        if len(rows) == 1:
            return {"Identity": target.driver.insert_identity(conn, statement, rows[0])}
        conn.execute(statement, rows)
        return {"result": "success"}


def update(svc: Services, target: Target, statement: Update) -> dict[str, Any]:
    with _queued(svc, target), _transaction(svc, target) as conn:
        return {"Updated": conn.execute(statement).rowcount}


def delete(svc: Services, target: Target, statement: Delete) -> dict[str, Any]:
    with _queued(svc, target), _transaction(svc, target) as conn:
        return {"Deleted": conn.execute(statement).rowcount}


def query(svc: Services, target: Target, sql: str) -> Response:
    spool = ResultSpool()
    try:
        with _transaction(svc, target, resets=True) as conn:
            target.driver.run_batch(conn, sql, spool)
    except BaseException:
        spool.close()
        raise
    note_rows(spool.row_count)
    return Response(spool.body(), mimetype=JSON)


def call(svc: Services, target: Target, procedure: ProcedureCall) -> Response:
    spool = ResultSpool()
    try:
        with _transaction(svc, target, resets=True) as conn:
            values = target.driver.call_procedure(conn, procedure, spool)
    except BaseException:
        spool.close()
        raise
    note_rows(spool.row_count)
    if not procedure.outputs:
        return Response(spool.body(), mimetype=JSON)
    return Response(_with_outputs(spool, values), mimetype=JSON)


def _with_outputs(spool: ResultSpool, values: dict[str, Any]) -> Iterator[bytes]:
    yield b'{"result":'
    yield from spool.body()
    yield b',"output":' + dumps(values) + b"}"
