"""Running one claimed job: from its sealed body to result pages and a final status.

The body goes through the same steps as the synchronous call (resolve.py for the connToken and
grant, plan.py for the statement, the driver for batches and procedures), as the submitting user,
whose standing and grant are checked again when the job starts. Statements run in one
transaction on a connection registered for native cancel (cancel.py); a cancelled job rolls back,
so a cancelled /query batch commits nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from ...app_state import Services
from ...auth import roles
from ...auth.guard import needs, principal_of
from ...drivers.base import FETCH_ROWS, Target
from ...drivers.pools import PoolRegistry
from ...errors import ApiError, BadRequest
from ...store import jobs as job_store
from ...store import users as user_store
from ...store.db import read
from ...telemetry.metrics import JOB_RUN_SECONDS
from .. import plan
from ..resolve import resolve
from ..results import dumps
from ..transfers.runner import transfer
from .cancel import Running
from .connected import connected, database_errors
from .pages import Cancelled, PageSpool
from .queue import Queue
from .sealed import seal
from .timeouts import job_target

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Context:
    svc: Services
    queue: Queue
    pools: PoolRegistry  # the jobs' own pools: their statement timeout is the job's


def run_job(ctx: Context, job: Any, running: Running) -> str:
    """Run `job` (a claimed row) to its end; returns the status it ended with."""
    started = time.monotonic()
    svc = ctx.svc
    spool = PageSpool(
        svc.engine,
        svc.box,
        job.id,
        ctx.queue.owner,
        _driver(job.driver),
        svc.settings.job_max_rows,
        svc.settings.job_max_result_bytes,
        running.cancelled.is_set,
    )
    status, error, output = job_store.SUCCEEDED, None, None
    try:
        output = _execute(ctx, job, running, spool)
    except Cancelled:
        status = job_store.CANCELLED
    except job_store.LeaseLost:  # swept as interrupted meanwhile: finish() reads how it ended
        status, error = job_store.FAILED, job_store.INTERRUPTED
    except Exception as exc:
        if running.cancelled.is_set():
            status = job_store.CANCELLED
        else:
            status, error = job_store.FAILED, _message(exc)
    if status != job_store.SUCCEEDED:
        job_store.drop_pages(svc.engine, job.id)
    summary = {"resultSets": spool.sets if status == job_store.SUCCEEDED else [], "output": output}
    rows = spool.row_count if status == job_store.SUCCEEDED else 0
    if running.progress is not None:
        summary["progress"] = running.progress
        rows = running.progress["rowsWritten"] if status == job_store.SUCCEEDED else 0
    # Written by results.py's encoder, so output values read back exactly as /exec gives them.
    ended = ctx.queue.finish(
        job.id,
        status,
        pages=spool.held if status == job_store.SUCCEEDED else (),
        error=seal(svc.box, error),
        rows=rows,
        summary=seal(svc.box, dumps(summary).decode()),
        expires_at=ctx.queue.clock() + dt.timedelta(seconds=job.retain),
    )
    JOB_RUN_SECONDS.labels(job.kind, ended).observe(time.monotonic() - started)
    return ended


def _driver(name: str) -> Any:
    from ...drivers import driver_named

    return driver_named(name)


def _message(exc: BaseException) -> str:
    if isinstance(exc, ApiError):
        return exc.message
    log.error("a job failed unexpectedly", exc_info=exc)
    return "The job failed unexpectedly"


def _execute(ctx: Context, job: Any, running: Running, spool: PageSpool) -> Any:
    svc = ctx.svc
    # Decimals stay exact, as the request parser (api/body.py) read them.
    body = json.loads(svc.box.open(job.body), parse_float=Decimal)
    with read(svc.engine) as conn:
        user = user_store.get(conn, job.user_id)
    if user is None or not user.enabled:
        raise BadRequest("The user who submitted this job is disabled or deleted")
    principal = principal_of(user)
    if job.kind == "transfer":
        return transfer(ctx, job, running, body, principal)
    needs(principal, roles.JOBS[job.kind], f"run this {job.kind} job: its role has changed")
    target = job_target(resolve(svc, principal, body["token"], job.driver), job.timeout)
    where = plan.place(target, svc.settings.select_max_rows)
    with _transaction(ctx, job, target, running) as conn:
        if job.kind == "select":
            _select(conn, plan.select(where, body).statement(where), spool)
            return None
        if job.kind == "query":
            target.driver.run_batch(conn, plan.query(body), spool)
            return None
        return target.driver.call_procedure(conn, plan.call(body, principal.role), spool)


def _select(conn: Connection, statement: Any, spool: PageSpool) -> None:
    result = conn.execution_options(stream_results=True, max_row_buffer=FETCH_ROWS).execute(
        statement
    )
    try:
        spool.begin(list(result.keys()))
        spool.described(result.cursor)
        while rows := result.fetchmany(FETCH_ROWS):
            spool.rows(rows)
        spool.end()
    finally:
        result.close()


@contextmanager
def _transaction(ctx: Context, job: Any, target: Target, running: Running) -> Iterator[Connection]:
    # A select is built by us and keeps nothing; a query or exec is caller SQL that may change
    # the session's state (reset before the connection goes back) and keep work (committed).
    caller_sql = job.kind != "select"
    with (
        connected(ctx.pools, target, running, resets=caller_sql) as (_, conn),
        database_errors(conn, target),
    ):
        transaction = conn.begin()
        yield conn
        # The last look before anything is kept: a cancel asked for by now commits nothing, and
        # one asked for later answers 409, since the work is then kept (store/jobs.begin_commit).
        # A select keeps nothing at the target: finish's own compare-and-set decides its status.
        if running.cancelled.is_set() or (caller_sql and not ctx.queue.begin_commit(job.id)):
            running.cancelled.set()
            raise Cancelled()
        transaction.commit()
