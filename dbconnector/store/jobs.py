"""Async jobs in the metadata database: the rows, their state changes and their result pages.

Every state change is a compare-and-set UPDATE (`WHERE status = ...`), so two processes sharing
the metadata database never both claim, finish or cancel one job: whoever's UPDATE matched the
row won, the other sees a rowcount of 0. Whatever a running job writes (its pages, its end) is
fenced by its lease owner, so a process that lost its lease can no longer write.

`committing` is internal: a job that passed its last cancel check and is committing its
transaction. A cancel then answers 409 (the work is being kept); callers see it as `running`.
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
COMMITTING = "committing"
ACTIVE = (RUNNING, COMMITTING)  # held by a process under its lease
INTERRUPTED = "The job was interrupted: the process running it stopped"


class LeaseLost(Exception):
    """This process no longer holds the job's lease (it was swept as interrupted)."""


def public(status: str) -> str:
    """The status callers see: committing is still running to them."""
    return RUNNING if status == COMMITTING else status


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
        query = query.where(jobs.c.status.in_(ACTIVE if status == RUNNING else (status,)))
    query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
    return conn.execute(query.offset(page * limit).limit(limit)).all()


def active_count(conn: Connection, user_id: int) -> int:
    return conn.execute(
        select(func.count())
        .select_from(jobs)
        .where(jobs.c.user_id == user_id, jobs.c.status.in_((QUEUED, *ACTIVE)))
    ).scalar_one()


def counts(conn: Connection) -> dict[str, int]:
    """Jobs by status, for /admin/metrics."""
    rows = conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status)).all()
    by_status: dict[str, int] = {}
    for status, number in rows:
        by_status[public(status)] = by_status.get(public(status), 0) + int(number)
    return by_status


def claim(
    engine: Engine, owner: str, now: dt.datetime, lease_until: dt.datetime, per_user: int = 0
) -> Any:
    """The oldest queued job whose submitter runs fewer than `per_user` jobs (0: no cap), now
    running under `owner`'s lease; None when there is none."""
    query = select(jobs.c.id).where(jobs.c.status == QUEUED)
    if per_user:
        query = query.where(jobs.c.user_id.not_in(_busy_users(per_user)))
    with read(engine) as conn:
        candidates = (
            conn.execute(query.order_by(jobs.c.created_at, jobs.c.id).limit(5)).scalars().all()
        )
    for job_id in candidates:
        job = claim_one(engine, job_id, owner, now, lease_until, per_user)
        if job is not None:
            return job
    return None


def _busy_users(per_user: int) -> Any:
    """The users running `per_user` jobs or more."""
    return (
        select(jobs.c.user_id)
        .where(jobs.c.status.in_(ACTIVE))
        .group_by(jobs.c.user_id)
        .having(func.count() >= per_user)
    )


def claim_one(
    engine: Engine,
    job_id: str,
    owner: str,
    now: dt.datetime,
    lease_until: dt.datetime,
    per_user: int = 0,
) -> Any:
    """This job, now running under `owner`'s lease; None unless it was still queued (and, with
    `per_user`, its submitter runs fewer jobs than that: checked in the same UPDATE)."""
    condition = and_(jobs.c.id == job_id, jobs.c.status == QUEUED)
    if per_user:
        condition = and_(condition, jobs.c.user_id.not_in(_busy_users(per_user)))
    with write(engine) as conn:
        won = conn.execute(
            update(jobs)
            .where(condition)
            .values(
                status=RUNNING,
                started_at=now,
                lease_owner=owner,
                lease_expires_at=lease_until,
            )
        ).rowcount
        return get(conn, job_id) if won == 1 else None


def queued_before(conn: Connection, moment: dt.datetime, limit: int = 500) -> list[str]:
    """Jobs still queued that were submitted before `moment`, oldest first."""
    return list(
        conn.execute(
            select(jobs.c.id)
            .where(jobs.c.status == QUEUED, jobs.c.created_at < moment)
            .order_by(jobs.c.created_at, jobs.c.id)
            .limit(limit)
        ).scalars()
    )


def remove(engine: Engine, job_id: str) -> None:
    """Take back a job whose submit could not be completed (it never ran)."""
    with write(engine) as conn:
        conn.execute(delete(jobs).where(jobs.c.id == job_id, jobs.c.status == QUEUED))


def renew(engine: Engine, owner: str, job_ids: Sequence[str], lease_until: dt.datetime) -> None:
    if not job_ids:
        return
    with write(engine) as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.id.in_(job_ids), jobs.c.lease_owner == owner, jobs.c.status.in_(ACTIVE))
            .values(lease_expires_at=lease_until)
        )


def cancel_requested(engine: Engine, job_ids: Sequence[str]) -> list[str]:
    """Of these running jobs, the ones whose cancel was asked for (by any instance); never a
    committing one, whose commit a cancel at the database could break."""
    if not job_ids:
        return []
    with read(engine) as conn:
        return list(
            conn.execute(
                select(jobs.c.id).where(
                    jobs.c.id.in_(job_ids), jobs.c.status == RUNNING, jobs.c.cancel_requested
                )
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


def begin_commit(engine: Engine, job_id: str, owner: str) -> bool:
    """The last cancel check, as one compare-and-set: the job holds its lease and no cancel was
    asked for, and from now on none is taken (409), so what is reported is what happened."""
    with write(engine) as conn:
        return (
            conn.execute(
                update(jobs)
                .where(
                    jobs.c.id == job_id,
                    jobs.c.lease_owner == owner,
                    jobs.c.status == RUNNING,
                    ~jobs.c.cancel_requested,
                )
                .values(status=COMMITTING)
            ).rowcount
            == 1
        )


def finish(
    engine: Engine,
    job_id: str,
    owner: str,
    status: str,
    now: dt.datetime,
    pages: Sequence[dict[str, Any]] = (),
    **values: Any,
) -> str:
    """End a job this owner holds, storing `pages` (page_row) if it succeeds. A running job
    whose cancel was asked for ends cancelled; a committing one whose results were DELETEd ends
    expired (it committed); either way its pages go. Returns the status it ended with (another
    one when this owner's lease was lost)."""
    with write(engine) as conn:
        base = and_(jobs.c.id == job_id, jobs.c.lease_owner == owner, jobs.c.status.in_(ACTIVE))
        done = conn.execute(
            update(jobs)
            .where(base, or_(status != SUCCEEDED, ~jobs.c.cancel_requested))
            .values(status=status, completed_at=now, lease_owner=None, **values)
        ).rowcount
        if done:
            if pages and status == SUCCEEDED:
                conn.execute(insert(job_pages), list(pages))
            return status
        for was, ended, expires in (
            (RUNNING, CANCELLED, values.get("expires_at")),
            (COMMITTING, EXPIRED, now),
        ):
            changed = conn.execute(
                update(jobs)
                .where(base, jobs.c.status == was)
                .values(status=ended, completed_at=now, lease_owner=None, expires_at=expires)
            ).rowcount
            if changed:
                conn.execute(delete(job_pages).where(job_pages.c.job_id == job_id))
                return ended
        row = get(conn, job_id)  # the lease was lost (swept as interrupted): the row says how
        return row.status if row is not None else EXPIRED


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
    a committing one expired, its pages dropped, once its process ends it)."""
    with write(engine) as conn:
        conn.execute(delete(job_pages).where(job_pages.c.job_id == job_id))
        conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == COMMITTING)
            .values(cancel_requested=True)
        )
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
                jobs.c.status.in_(ACTIVE), jobs.c.lease_expires_at < now
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
                .where(
                    jobs.c.id == job_id,
                    jobs.c.status.in_(ACTIVE),
                    jobs.c.lease_expires_at < now,
                )
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


def add_page(
    engine: Engine, job_id: str, owner: str, result_set: int, page: int, rows: int, payload: bytes
) -> None:
    """Store a page of a job `owner` still holds (the row is touched first, so a concurrent sweep
    waits for this write or makes it fail); raises LeaseLost otherwise."""
    with write(engine) as conn:
        held = conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.lease_owner == owner, jobs.c.status == RUNNING)
            .values(lease_owner=owner)
        ).rowcount
        if not held:
            raise LeaseLost(job_id)
        conn.execute(insert(job_pages), page_row(job_id, result_set, page, rows, payload))


def page_row(job_id: str, result_set: int, page: int, rows: int, payload: bytes) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "result_set": result_set,
        "page": page,
        "row_count": rows,
        "payload": payload,
    }


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
