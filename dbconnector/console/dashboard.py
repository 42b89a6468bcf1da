"""Dashboard: the health of the metadata store, the job workers and the flood storage; counts;
the latest failures."""

from __future__ import annotations

from typing import Any

from ..app_state import Services
from ..execution.jobs import calls
from ..store import audit as audit_store
from ..store import connections as conn_store
from ..store import jobs as job_store
from ..store import users as user_store
from ..store.db import read
from .pages import bp, page, services

LATEST = 5
WORKER_THREAD = "dbc-job-worker"  # execution/jobs/worker.py names its threads so


@bp.get("/dashboard")
def dashboard() -> Any:
    svc = services()
    with read(svc.engine) as conn:
        counts = {
            "Users": user_store.count(conn),
            "Connections": conn_store.count(conn),
        }
        jobs = job_store.counts(conn)
        failed_rows = job_store.listing(conn, None, job_store.FAILED, 0, LATEST)
        refused = audit_store.page(
            conn, actor_id=None, action=None, before=None, limit=LATEST, outcome=audit_store.REFUSED
        )
    return page(
        "dashboard.html",
        health=[
            ("Metadata store", "ok"),
            ("Job workers", _workers(svc)),
            ("Flood storage", _flood(svc)),
        ],
        counts=counts,
        jobs=jobs,
        failed=[calls.describe(row, svc) for row in failed_rows],  # errors are sealed
        refused=refused,
    )


def _workers(svc: Services) -> str:
    workers = svc.jobs
    if workers is None:
        return "none"
    if workers.broker is not None:
        try:
            return f"ok: on Redis, {workers.broker.depth()} queued"
        except Exception:  # the page still answers while Redis is away
            return "failing: the job broker does not answer"
    alive = sum(
        thread.is_alive() and thread.name.startswith(WORKER_THREAD) for thread in workers.threads
    )
    return f"ok: {alive} worker threads" if alive else "none running in this process"


def _flood(svc: Services) -> str:
    if svc.flood.degraded:
        return "degraded: counting in this process's memory"
    return "ok"
