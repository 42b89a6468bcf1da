"""Running one transfer job: both sides checked again as its submitter, then the rows streamed
from the source in batches and written to the target through its driver's bulk path.

Each side runs on its own connection from the jobs' pools, registered for native cancel (the
source as the job's Running, the target as its partner), so a cancel stops the read and the
write at their databases; the target then rolls back (load.py). Progress (rows read and written)
is kept in the job's row as batches land.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack, nullcontext
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ...auth.guard import Principal
from ...drivers.base import Target
from ...drivers.failures import statement_failure
from ...errors import ApiError
from ...sql.transfer_types import TEXT
from ...store import jobs as job_store
from .. import run
from ..jobs.cancel import Running
from ..jobs.connected import connected, database_errors
from ..jobs.pages import Cancelled
from ..jobs.sealed import seal
from ..jobs.timeouts import job_target
from ..results import dumps
from .load import Load
from .source import reading, source_sql
from .submit import check

if TYPE_CHECKING:
    from ..jobs.runner import Context

log = logging.getLogger(__name__)
PROGRESS_EVERY = 0.2  # seconds: at most this often a progress write to the metadata database


def transfer(
    ctx: Context, job: Any, running: Running, body: dict[str, Any], principal: Principal
) -> None:
    """Run the transfer `job` (claimed, body opened) as `principal`; raises to fail it."""
    sides = check(ctx.svc, principal, body)
    source = job_target(sides.source, job.timeout)
    target = job_target(sides.target, job.timeout)
    running.partner = Running(job.id)
    progress = running.progress = {"rowsRead": 0, "rowsWritten": 0}
    reporter = _Reporter(ctx, job.id, progress)
    mode, batch = body["target"]["mode"], int(body["batchSize"])
    lock = ctx.pools.write_lock(target) if target.driver.queues_writes else nullcontext()
    # Within one SQLite file a second connection's open read would block the commit: the rows are
    # read through the writing connection instead, inside its transaction.
    shared = target.driver.queues_writes and source.connection_id == target.connection_id
    with ExitStack() as stack:
        if not shared:
            _, source_conn = stack.enter_context(connected(ctx.pools, source, running, resets=True))
        stack.enter_context(lock)
        engine, target_conn = stack.enter_context(
            connected(ctx.pools, target, running.partner, resets=shared)
        )
        if shared:
            source_conn = target_conn
        load = Load(engine, target_conn, target, sides.table, mode, job.id)
        try:
            with database_errors(source_conn, source):
                if not shared:
                    source_conn.begin()
                if source.driver.name == target.driver.name == "postgresql":
                    _pipe(source_conn, source, body["source"], load, running, reporter)
                else:
                    opened = reading(source_conn, source, body["source"], batch)
                    _copy(opened, load, running, reporter)
            # The last look before anything is kept: a cancel asked for by now commits nothing,
            # and one asked for later answers 409 (store/jobs.begin_commit), as for every job.
            if running.cancelled.is_set() or not ctx.queue.begin_commit(job.id):
                running.cancelled.set()
                raise Cancelled()
            with database_errors(target_conn, target):
                load.commit()
        except BaseException:
            _abort(load)
            raise
    reporter.report(force=True)


def _copy(opened: Any, load: Load, running: Running, reporter: _Reporter) -> None:
    """Every batch from the source into the target. Target errors are cleaned here, as the
    target's; whatever else the block raises is the source's (the caller cleans those)."""
    progress, target = reporter.progress, load.target
    with opened as reader:
        started = False
        for rows in reader.batches():
            if running.cancelled.is_set():
                raise Cancelled()
            progress["rowsRead"] += len(rows)
            with database_errors(load.conn, target):
                if not started:
                    load.start(reader.columns, reader.kinds(rows))
                    started = True
                load.write(rows)
            progress["rowsWritten"] += len(rows)
            reporter.report()
        if not started:
            with database_errors(load.conn, target):
                load.start(reader.columns, reader.kinds([]))


def _pipe(
    conn: Connection,
    source: Target,
    body: dict[str, Any],
    load: Load,
    running: Running,
    reporter: _Reporter,
) -> None:
    """PostgreSQL to PostgreSQL: the source's COPY (...) TO STDOUT piped into the target's COPY
    FROM STDIN, in text format, with no row decoded in between."""
    driver: Any = source.driver
    sql, params = source_sql(conn, source, body)
    columns, kinds = driver.describe(conn, sql, params)
    with database_errors(load.conn, load.target):
        load.start(columns, [kind or TEXT for kind in kinds])
    progress = reporter.progress

    def rows() -> Iterator[Any]:
        try:
            for row in driver.copy_out(conn, sql, params):
                if running.cancelled.is_set():
                    raise Cancelled()
                progress["rowsRead"] += 1
                yield row
                progress["rowsWritten"] += 1  # the target's COPY asked for the next row
                reporter.report()
        except (ApiError, Cancelled):
            raise
        except Exception as exc:
            if run._is_database_error(conn, exc, source):
                raise statement_failure(exc, source) from None
            raise

    with database_errors(load.conn, load.target):
        load.pipe(rows())


def _abort(load: Load) -> None:
    try:
        load.abort()
    except Exception:  # the first failure is the one to report; the connection is dropped
        log.warning("rolling back a transfer's target failed", exc_info=True)
        load.conn.invalidate()


class _Reporter:
    def __init__(self, ctx: Context, job_id: str, progress: dict[str, int]) -> None:
        self.ctx, self.job_id, self.progress = ctx, job_id, progress
        self.last = 0.0

    def report(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        summary = dumps({"resultSets": [], "progress": self.progress}).decode()
        job_store.progress(
            self.ctx.svc.engine,
            self.job_id,
            self.ctx.queue.owner,
            seal(self.ctx.svc.box, summary),
            self.progress["rowsWritten"],
        )
