"""The job operations behind api/jobs.py: status, listing, cancel, results, pages, delete.

A job is visible to its submitter and to ADMIN/OWNER; to anyone else it does not exist (the same
404 as an unknown id). Its results are readable only while the submitter is enabled and still
holds the grant on the job's connection (ADMIN and OWNER need none), and the reader still holds
a role that may run that kind of job.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from flask import Response
from redis.exceptions import RedisError
from sqlalchemy import Connection

from ...app_state import Services, services
from ...auth import roles
from ...auth.guard import current, needs, principal_of
from ...errors import Conflict, Forbidden, Gone, Missing
from ...store import connections as conn_store
from ...store import jobs as job_store
from ...store import users as user_store
from ...store.db import read
from ...telemetry.metrics import JOB_BROKER_DEPTH, job_counts
from ...telemetry.requestlog import audit
from ..results import dumps
from . import pages
from .sealed import unseal
from .worker import JobWorkers

JOB_NOT_FOUND = "Job not found"
JSON = "application/json"
PAGE_DEFAULT = 1000


def status(job_id: str) -> dict[str, Any]:
    svc = services()
    with read(svc.engine) as conn:
        return describe(_visible(conn, job_id), svc)


def listing(args: dict[str, Any]) -> list[dict[str, Any]]:
    svc, principal = services(), current()
    wanted = args.get("user")
    if wanted is not None and not principal.admin and wanted != principal.id:
        raise Forbidden(f"user {principal.id} may list only its own jobs")
    user_id = wanted if principal.admin else principal.id
    with read(svc.engine) as conn:
        rows = job_store.listing(
            conn, user_id, args.get("status"), args.get("page") or 0, args.get("limit") or 100
        )
    return [describe(row, svc) for row in rows]


def cancel(job_id: str) -> dict[str, Any]:
    svc = services()
    with read(svc.engine) as conn:
        _visible(conn, job_id)
    finished = job_store.request_cancel(svc.engine, job_id, _now(svc))
    _jobs(svc).withdrawn(job_id)
    if finished == job_store.COMMITTING:
        raise Conflict(
            "The job is committing its work: it can no longer be cancelled",
            status=job_store.RUNNING,
        )
    if finished is not None:
        raise Conflict(f"The job has already ended: {finished}", status=finished)
    audit("job.cancel", job_id=job_id)
    return {"status": job_store.CANCELLED}


def delete(job_id: str) -> dict[str, Any]:
    """Cancel it if it has not ended; its results go at once, and reading them answers 410."""
    svc = services()
    with read(svc.engine) as conn:
        _visible(conn, job_id)
    job_store.request_cancel(svc.engine, job_id, _now(svc))
    _jobs(svc).withdrawn(job_id)
    job_store.discard(svc.engine, job_id, _now(svc))
    audit("job.delete", job_id=job_id)
    return {}


def results(job_id: str) -> Response:
    svc = services()
    row = _readable(svc, job_id)
    return Response(unseal(svc.box, row.summary), mimetype=JSON)


def result_page(job_id: str, number: str, args: dict[str, Any]) -> Response:
    svc = services()
    row = _readable(svc, job_id)
    sets = json.loads(unseal(svc.box, row.summary) or "{}")["resultSets"]
    index = int(number) if number.isascii() and number.isdigit() and len(number) < 6 else -1
    if not 0 <= index < len(sets):
        raise Missing(f"The job has no result set {number[:10]}")
    result = sets[index]
    form = args.get("format") or "json"
    if form == "csv":
        names = [column["name"] for column in result["columns"]]
        return Response(
            pages.csv_text(svc.engine, svc.box, job_id, index, names), mimetype="text/csv"
        )
    if form == "ndjson":
        return Response(
            pages.ndjson(svc.engine, svc.box, job_id, index), mimetype="application/x-ndjson"
        )
    offset = args.get("offset") or 0
    limit = args.get("limit") or PAGE_DEFAULT
    total = result["rows"]
    lines = (
        pages.page_rows(svc.engine, svc.box, job_id, index, offset, limit) if offset < total else []
    )
    following = (
        f"/v1/jobs/{job_id}/results/{index}?offset={offset + limit}&limit={limit}"
        if offset + limit < total
        else None
    )
    body = b"".join(
        (
            b'{"columns":',
            dumps(result["columns"]),
            b',"rows":[',
            b",".join(lines),
            b'],"offset":',
            dumps(offset),
            b',"limit":',
            dumps(limit),
            b',"total":',
            dumps(total),
            b',"next":',
            dumps(following),
            b"}",
        )
    )
    return Response(body, mimetype=JSON)


def observe(svc: Services) -> None:
    """Job counts by status into the metrics, at scrape time."""
    with read(svc.engine) as conn:
        job_counts(job_store.counts(conn), job_store.STATUSES)
    broker = _jobs(svc).broker
    if broker is not None:
        try:
            JOB_BROKER_DEPTH.set(broker.depth())
        except RedisError:  # a scrape still answers while Redis is away
            JOB_BROKER_DEPTH.set(float("nan"))


# --- helpers -----------------------------------------------------------------------------------


def _jobs(svc: Services) -> JobWorkers:
    assert svc.jobs is not None
    return svc.jobs


def _now(svc: Services) -> dt.datetime:
    return _jobs(svc).queue.clock()


def _visible(conn: Connection, job_id: str) -> Any:
    principal = current()
    try:
        job_id = str(uuid.UUID(job_id))
    except ValueError:
        raise Missing(JOB_NOT_FOUND) from None
    row = job_store.get(conn, job_id)
    if row is None or (row.user_id != principal.id and not principal.admin):
        raise Missing(JOB_NOT_FOUND)
    return row


def _readable(svc: Services, job_id: str) -> Any:
    """A succeeded job whose results are still kept and whose submitter may still read them."""
    with read(svc.engine) as conn:
        row = _visible(conn, job_id)
        if row.status in (job_store.QUEUED, *job_store.ACTIVE):
            shown = job_store.public(row.status)
            raise Conflict(f"The job has not finished: it is {shown}", status=shown)
        expired = row.expires_at is not None and _aware(row.expires_at) <= _now(svc)
        if row.status != job_store.SUCCEEDED or expired:
            shown = job_store.EXPIRED if expired else row.status
            raise Gone(f"The job's results are gone: it is {shown}")
        user = user_store.get(conn, row.user_id)
        if user is None or not user.enabled:
            raise Forbidden(f"job {row.id}: its submitter is disabled or deleted")
        submitter = principal_of(user)
        if not submitter.admin and not conn_store.has_grant(conn, user.id, row.connection_id):
            raise Forbidden(f"job {row.id}: its submitter no longer holds the grant")
    # Under the reader's rights of now: a user demoted since the submit reads no more than its
    # new role may run (a transfer's summary holds counts only).
    needs(current(), roles.JOBS.get(row.kind, roles.SELECT), f"read job {row.id}'s results")
    return row


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite gives back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return _aware(moment).astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def describe(row: Any, svc: Services) -> dict[str, Any]:
    started, completed = row.started_at, row.completed_at
    if started is not None:
        end = _aware(completed) if completed is not None else _now(svc)
        duration: int | None = int((end - _aware(started)).total_seconds() * 1000)
    else:
        duration = None
    summary = json.loads(unseal(svc.box, row.summary) or '{"resultSets": []}')
    expires = row.expires_at
    status = job_store.public(row.status)
    if status == job_store.SUCCEEDED and expires is not None and _aware(expires) <= _now(svc):
        status = job_store.EXPIRED  # the sweeper has not got to it yet
    described = {
        "jobId": row.id,
        "kind": row.kind,
        "driver": row.driver,
        "connection": row.connection_name,
        "status": status,
        "createdAt": _iso(row.created_at),
        "startedAt": _iso(started),
        "completedAt": _iso(completed),
        "expiresAt": _iso(expires),
        "durationMs": duration,
        "resultSets": len(summary["resultSets"]),
        "rows": int(row.rows),
        "error": unseal(svc.box, row.error),
    }
    if row.kind == "transfer":
        described["progress"] = summary.get("progress") or {"rowsRead": 0, "rowsWritten": 0}
    return described
