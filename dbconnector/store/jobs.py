"""Async jobs in the metadata database: the rows, their state changes and their result pages.

Every state change is a compare-and-set UPDATE (`WHERE status = ...`), so two processes sharing
the metadata database never both claim, finish or cancel one job: whoever's UPDATE matched the
row won, the other sees a rowcount of 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, update

from .db import read, write
from .tables import job_pages, jobs

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, EXPIRED = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "expired",
)
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, EXPIRED)
FINISHED = (SUCCEEDED, FAILED, CANCELLED, EXPIRED)
INTERRUPTED = "The job was interrupted: the process running it stopped"


def add(engine: Engine, row: dict[str, Any]) -> None:
    with write(engine) as conn:
        conn.execute(insert(jobs), {"cancel_requested": False, "rows": 0, **row})


def get(conn: Connection, job_id: str) -> Any:
    return conn.execute(select(jobs).where(jobs.c.id == job_id)).first()


def listing(
    conn: Connection, user_id: int | None, status: str | None, page: int, limit: int
) -> Sequence[Any]:
    """Newest first; every user's when user_id is None."""
    query = select(jobs)
    if user_id is not None:
        query = query.where(jobs.c.user_id == user_id)
    if status:
        query = query.where(jobs.c.status == status)
    query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
    return conn.execute(query.offset(page * limit).limit(limit)).all()


def active_count(conn: Connection, user_id: int) -> int:
    return conn.execute(
        select(func.count())
        .select_from(jobs)
        .where(jobs.c.user_id == user_id, jobs.c.status.in_((QUEUED, RUNNING)))
    ).scalar_one()


def counts(conn: Connection) -> dict[str, int]:
    """Jobs by status, for /admin/metrics."""
    rows = conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status)).all()
    return {status: int(number) for status, number in rows}


def claim(engine: Engine, owner: str, now: dt.datetime, lease_until: dt.datetime) -> Any:
    """The oldest queued job, now running under `owner`'s lease; None when there is none."""
    with read(engine) as conn:
        candidates = (
            conn.execute(
                select(jobs.c.id)
                .where(jobs.c.status == QUEUED)
                .order_by(jobs.c.created_at, jobs.c.id)
                .limit(5)
            )
            .scalars()
            .all()
        )
    for job_id in candidates:
        with write(engine) as conn:
            won = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == QUEUED)
                .values(
                    status=RUNNING,
                    started_at=now,
                    lease_owner=owner,
                    lease_expires_at=lease_until,
                )
            ).rowcount
            if won == 1:
                return get(conn, job_id)
    return None


def renew(engine: Engine, owner: str, job_ids: Sequence[str], lease_until: dt.datetime) -> None:
    if not job_ids:
        return
    with write(engine) as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.id.in_(job_ids), jobs.c.lease_owner == owner, jobs.c.status == RUNNING)
            .values(lease_expires_at=lease_until)
        )


def cancel_requested(engine: Engine, job_ids: Sequence[str]) -> list[str]:
    """Of these running jobs, the ones whose cancel was asked for (by any instance)."""
    if not job_ids:
        return []
    with read(engine) as conn:
        return list(
            conn.execute(
                select(jobs.c.id).where(jobs.c.id.in_(job_ids), jobs.c.cancel_requested)
            ).scalars()
        )


def request_cancel(engine: Engine, job_id: str, now: dt.datetime) -> str | None:
    """Cancel a queued job at once; flag a running one for the process that holds it.
    Returns the job's status when it had already finished, None when the cancel took."""
    with write(engine) as conn:
        queued = conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == QUEUED)
            .values(status=CANCELLED, completed_at=now, cancel_requested=True)
        ).rowcount
        if queued:
            return None
        running = conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == RUNNING)
            .values(cancel_requested=True)
        ).rowcount
        if running:
            return None
        row = get(conn, job_id)
        return row.status if row is not None else None


def finish(
    engine: Engine,
    job_id: str,
    owner: str,
    status: str,
    now: dt.datetime,
    **values: Any,
) -> str:
    """End a running job this owner holds. A succeeded job whose cancel was asked for in the
    meantime ends cancelled (its pages go), so a 200 {"status": "cancelled"} always holds.
    Returns the status it ended with (another one when this owner's lease was lost)."""
    with write(engine) as conn:
        base = and_(jobs.c.id == job_id, jobs.c.lease_owner == owner, jobs.c.status == RUNNING)
        ended = status
        done = conn.execute(
            update(jobs)
            .where(base, or_(status != SUCCEEDED, ~jobs.c.cancel_requested))
            .values(status=status, completed_at=now, lease_owner=None, **values)
        ).rowcount
        if not done:
            cancelled = conn.execute(
                update(jobs)
                .where(base)
                .values(
                    status=CANCELLED,
                    completed_at=now,
                    lease_owner=None,
                    expires_at=values.get("expires_at"),
                )
            ).rowcount
            if cancelled:
                ended = CANCELLED
                conn.execute(delete(job_pages).where(job_pages.c.job_id == job_id))
            else:  # the lease was lost (swept as interrupted): the row says how it ended
                row = get(conn, job_id)
                ended = row.status if row is not None else EXPIRED
        return ended


def progress(engine: Engine, job_id: str, owner: str, summary: str, rows: int) -> None:
    """A running job's summary so far (a transfer's rows read and written)."""
    with write(engine) as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.lease_owner == owner, jobs.c.status == RUNNING)
            .values(summary=summary, rows=rows)
        )


def discard(engine: Engine, job_id: str, now: dt.datetime) -> None:
    """DELETE: its pages go now and an ended job reads as expired (a running one ends cancelled,
    its pages dropped, once its process sees the cancel)."""
    with write(engine) as conn:
        conn.execute(delete(job_pages).where(job_pages.c.job_id == job_id))
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status.in_((SUCCEEDED, FAILED, CANCELLED)))
            .values(status=EXPIRED, expires_at=now)
        )


def sweep(engine: Engine, now: dt.datetime) -> tuple[int, int]:
    """Expire finished jobs past their retention (pages deleted) and fail running jobs whose
    lease ran out (their process died). Returns (expired, interrupted)."""
    finished = (SUCCEEDED, FAILED, CANCELLED)
    # Looked for first with a read: most sweeps find nothing, and a write would take SQLite's
    # write lock every time.
    with read(engine) as conn:
        dead = conn.execute(
            select(jobs.c.id, jobs.c.retain).where(
                jobs.c.status == RUNNING, jobs.c.lease_expires_at < now
            )
        ).all()
        stale = (
            conn.execute(
                select(jobs.c.id).where(jobs.c.status.in_(finished), jobs.c.expires_at < now)
            )
            .scalars()
            .all()
        )
    if not dead and not stale:
        return 0, 0
    interrupted = 0
    with write(engine) as conn:
        for job_id, retain in dead:
            interrupted += conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.status == RUNNING, jobs.c.lease_expires_at < now)
                .values(
                    status=FAILED,
                    error=INTERRUPTED,
                    completed_at=now,
                    lease_owner=None,
                    expires_at=now + dt.timedelta(seconds=retain),
                )
            ).rowcount
            conn.execute(delete(job_pages).where(job_pages.c.job_id == job_id))
        if stale:
            conn.execute(delete(job_pages).where(job_pages.c.job_id.in_(stale)))
            conn.execute(
                update(jobs)
                .where(jobs.c.id.in_(stale), jobs.c.status.in_(finished))
                .values(status=EXPIRED)
            )
    return len(stale), interrupted


# --- result pages ------------------------------------------------------------------------------


def add_page(engine: Engine, job_id: str, result_set: int, page: int, rows: int, payload: bytes):  # type: ignore[no-untyped-def]
    with write(engine) as conn:
        conn.execute(
            insert(job_pages),
            {
                "job_id": job_id,
                "result_set": result_set,
                "page": page,
                "row_count": rows,
                "payload": payload,
            },
        )


def drop_pages(engine: Engine, job_id: str) -> None:
    with write(engine) as conn:
        conn.execute(delete(job_pages).where(job_pages.c.job_id == job_id))


def pages(engine: Engine, job_id: str, result_set: int, first: int, last: int) -> Iterator[Any]:
    """Pages first..last of one result set, one query each so only one is in memory."""
    for number in range(first, last + 1):
        with read(engine) as conn:
            row = conn.execute(
                select(job_pages.c.page, job_pages.c.row_count, job_pages.c.payload).where(
                    job_pages.c.job_id == job_id,
                    job_pages.c.result_set == result_set,
                    job_pages.c.page == number,
                )
            ).first()
        if row is None:
            return
        yield row
