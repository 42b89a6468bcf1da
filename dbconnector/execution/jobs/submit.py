"""POST /v1/jobs/{select,query,exec}/<driver>: validate as the synchronous call does, then queue.

Everything the synchronous endpoint would refuse is refused here, at submit time, with the same
400: the connToken, grant and driver (resolve.py) and the statement (plan.py). The validated body
is stored sealed with the service key; the job runs as its submitter.
"""

from __future__ import annotations

import uuid
from typing import Any

from ...app_state import Services, services
from ...auth.guard import Principal, current
from ...drivers.base import Target
from ...errors import BadRequest
from ...sql.shapes import shape_of
from ...store import jobs as job_store
from ...store.db import read
from ...telemetry.requestlog import audit, auditing, note_target
from .. import plan
from ..resolve import resolve
from ..results import dumps
from .broker import BrokerDown


def submit(kind: str, driver: str, body: dict[str, Any]) -> dict[str, Any]:
    svc = services()
    settings = svc.settings
    principal = current()
    timeout = seconds(body, "timeout", settings.job_timeout, settings.job_max_timeout)
    retain = seconds(body, "retain", settings.job_retain, settings.job_max_retain)
    target = resolve(svc, principal, body["token"], driver)
    note_target(target.name)
    where = plan.place(target, settings.select_max_rows)
    if kind == "select":
        plan.select(where, body).statement(where)  # the builder checks table, fields and sort
    elif kind == "query":
        plan.query(body)
    else:
        plan.call(body, principal.role)
        if not target.driver.procedures:
            raise BadRequest(f"The {target.driver.name} driver has no stored procedures")
    stored = {key: value for key, value in body.items() if key not in ("timeout", "retain")}
    return queue_job(svc, principal, kind, target, stored, timeout, retain, shape_of(kind, body))


def queue_job(
    svc: Services,
    principal: Principal,
    kind: str,
    target: Target,
    stored: dict[str, Any],
    timeout: int,
    retain: int,
    shape: Any,
) -> dict[str, Any]:
    """Queue a validated job (`stored` is its body, sealed here) under the caller's active cap."""
    with read(svc.engine) as conn:
        active = job_store.active_count(conn, principal.id)
    if active >= svc.settings.job_max_active:
        raise BadRequest(
            f"You have {active} jobs queued or running, the most allowed "
            "(DBCONNECTOR_JOB_MAX_ACTIVE): wait for one to finish or cancel one"
        )
    job_id = str(uuid.uuid4())
    assert svc.jobs is not None
    job_store.add(
        svc.engine,
        {
            "id": job_id,
            "user_id": principal.id,
            "kind": kind,
            "driver": target.driver.name,
            "connection_id": target.connection_id,
            "connection_name": target.name,
            "body": svc.box.seal(dumps(stored).decode()),
            "status": job_store.QUEUED,
            "timeout": timeout,
            "retain": retain,
            "created_at": svc.jobs.queue.clock(),
        },
    )
    try:
        svc.jobs.submitted(job_id)
    except BrokerDown:
        job_store.remove(svc.engine, job_id)  # nothing half-stored: the caller may try again
        raise
    if auditing():
        audit(
            "job.submit",
            job_id=job_id,
            kind=kind,
            connection=target.name,
            connection_id=target.connection_id,
            driver=target.driver.name,
            shape=shape,
        )
    return {"jobId": job_id, "status": job_store.QUEUED}


def seconds(body: dict[str, Any], key: str, default: int, cap: int) -> int:
    value = body.get(key)
    if value is None:
        return default
    if value > cap:
        raise BadRequest(f"{key} may be at most {cap} seconds")
    return int(value)
