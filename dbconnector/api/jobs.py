"""Async jobs: /v1/jobs. Each view is one line into execution/jobs/ (submit.py, calls.py) and
execution/transfers/sides.py.

The submit endpoints take the synchronous endpoints' bodies, roles and validation, plus
`timeout` and `retain` (seconds). A job belongs to its submitter (and is visible to ADMIN and
OWNER); anyone else gets 404 {"error": "Job not found"}.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from ..auth.guard import current, requires
from ..execution.jobs import calls
from ..execution.jobs.submit import submit
from ..execution.transfers.sides import submit as submit_transfer_job
from ..lib import roles
from .common import accepts, sent, services
from .execute_schemas import (
    ExecJobRequest,
    JobPageQuery,
    JobsQuery,
    QueryJobRequest,
    SelectJobRequest,
    TransferJobRequest,
)
from .responses import (
    EMPTY,
    JOB,
    JOB_CANCELLED,
    JOB_PAGE,
    JOB_RESULTS,
    JOB_STREAMS,
    JOB_SUBMITTED,
    JOBS,
    responds,
)

bp = Blueprint("jobs", __name__)

NOT_FOUND = {"404": 'Not your job, or no such job: {"error": "Job not found"}'}
RESULTS_ERRORS = {
    **NOT_FOUND,
    "409": 'The job has not finished: {"error": ..., "status": ...}',
    "410": 'Its results were deleted (expired, DELETE, cancelled or failed): {"error": ...}',
}
ALL = roles.SELECT


def _submitted(answer: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    return answer, 202, {"Location": f"/v1/jobs/{answer['jobId']}"}


@responds(JOB_SUBMITTED, status="202")
@bp.post("/v1/jobs/select/<driver>")
@requires(roles.SELECT)
@accepts(SelectJobRequest)
def submit_select(driver: str, data: dict[str, Any]) -> Any:
    """Queue a /select as a job: 202 {"jobId", "status": "queued"} and a Location header."""
    return _submitted(submit(services(), current(), "select", driver, data))


@responds(JOB_SUBMITTED, status="202")
@bp.post("/v1/jobs/query/<driver>")
@requires(roles.QUERY)
@accepts(QueryJobRequest)
def submit_query(driver: str, data: dict[str, Any]) -> Any:
    """Queue a /query batch as a job; a cancelled batch commits nothing."""
    return _submitted(submit(services(), current(), "query", driver, data))


@responds(JOB_SUBMITTED, status="202")
@bp.post("/v1/jobs/exec/<driver>")
@requires(roles.EXEC)
@accepts(ExecJobRequest)
def submit_exec(driver: str, data: dict[str, Any]) -> Any:
    """Queue an /exec (stored procedure) as a job; its outputs come with the results."""
    return _submitted(submit(services(), current(), "exec", driver, data))


@responds(JOB_SUBMITTED, status="202")
@bp.post("/v1/jobs/transfer")
@requires(ALL)
@accepts(TransferJobRequest)
def submit_transfer(data: dict[str, Any]) -> Any:
    """Queue a transfer: the source's rows (a statement, or a table with fields, filter and
    sort) into a table on the target (mode append, create or replace), all or nothing. A
    statement source needs FULL, ADMIN or OWNER; writing needs ALTER and up, create and replace
    FULL and up; the caller needs a grant on both connections."""
    return _submitted(submit_transfer_job(services(), current(), data))


@responds(JOBS)
@bp.get("/v1/jobs")
@requires(ALL)
@accepts(JobsQuery, source="query")
def list_jobs(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The caller's jobs, newest first (ADMIN and OWNER: everyone's, or `user`'s)."""
    return calls.listing(services(), current(), data)


@responds(JOB, errors=NOT_FOUND)
@bp.get("/v1/jobs/<job_id>")
@requires(ALL)
def job_status(job_id: str) -> dict[str, Any]:
    """A job's status, times, row count and cleaned error."""
    return calls.status(services(), current(), job_id)


@responds(JOB_CANCELLED, errors={**NOT_FOUND, "409": 'It has ended: {"error", "status"}'})
@bp.post("/v1/jobs/<job_id>/cancel")
@requires(ALL)
def cancel_job(job_id: str) -> dict[str, Any]:
    """Cancel a job: a queued one never starts, a running one is stopped at the database."""
    return calls.cancel(services(), current(), job_id)


@responds(EMPTY, errors=NOT_FOUND)
@bp.delete("/v1/jobs/<job_id>")
@requires(ALL)
def delete_job(job_id: str) -> dict[str, Any]:
    """Cancel the job if needed and delete its results now."""
    return calls.delete(services(), current(), job_id)


@responds(JOB_RESULTS, errors=RESULTS_ERRORS)
@bp.get("/v1/jobs/<job_id>/results")
@requires(ALL)
def job_results(job_id: str) -> Response:
    """A finished job's result sets (columns with type and format, row counts) and outputs."""
    return sent(calls.results(services(), current(), job_id))


@responds(JOB_PAGE, also=JOB_STREAMS, errors=RESULTS_ERRORS)
@bp.get("/v1/jobs/<job_id>/results/<index>")
@requires(ALL)
@accepts(JobPageQuery, source="query")
def job_result_page(job_id: str, index: str, data: dict[str, Any]) -> Response:
    """Rows `offset` .. `offset + limit` (up to 10,000) of one result set, with `next`;
    `format=csv` or `format=ndjson` streams the whole result set instead."""
    return sent(calls.result_page(services(), current(), job_id, index, data))
