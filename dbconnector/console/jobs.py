"""Jobs: every user's recent jobs, filtered by status and user; cancel and delete through the
calls the /v1/jobs endpoints make."""

from __future__ import annotations

from typing import Any

from flask import request

from ..auth.guard import current
from ..errors import NotFound
from ..execution.jobs import calls
from ..store import jobs as job_store
from ..store import users as user_store
from ..store.db import read
from .pages import PAGE_SIZE, attempt, bp, done, number, page, services

STATUSES = job_store.STATUSES


@bp.get("/jobs")
def jobs() -> Any:
    svc = services()
    status = request.args.get("status", "")
    who = request.args.get("user", "").strip()
    number_ = number("page")
    with read(svc.engine) as conn:
        user = user_store.get(conn, who) if who else None
        if who and user is None:
            rows: list[Any] = []
        else:
            rows = list(
                job_store.listing(
                    conn,
                    user.id if user else None,
                    status if status in STATUSES else None,
                    number_,
                    PAGE_SIZE,
                )
            )
        names = user_store.names(conn, {row.user_id for row in rows})
    shown = [(calls.describe(row, svc), names.get(row.user_id, f"#{row.user_id}")) for row in rows]
    return page(
        "jobs.html",
        jobs=shown,
        statuses=STATUSES,
        status=status,
        who=who,
        unknown_user=bool(who and user is None),
        page=number_,
        more=len(rows) == PAGE_SIZE,
    )


@bp.post("/jobs/<job_id>/cancel")
def cancel_job(job_id: str) -> Any:
    def cancel() -> Any:
        calls.cancel(services(), current(), job_id)
        return done("Job cancelled.", "console.jobs")

    return attempt(cancel, lambda error: page("error.html", message=error))


@bp.route("/jobs/<job_id>/delete", methods=["GET", "POST"])
def delete_job(job_id: str) -> Any:
    if request.method == "GET":
        with read(services().engine) as conn:
            if job_store.get(conn, job_id) is None:
                raise NotFound("Job not found")
        return page(
            "confirm.html",
            question=f"Delete job {job_id} and its results (cancelling it if it runs)?",
            back=("console.jobs", {}),
        )

    def delete() -> Any:
        calls.delete(services(), current(), job_id)
        return done("Job deleted.", "console.jobs")

    return attempt(delete, lambda error: page("error.html", message=error))
