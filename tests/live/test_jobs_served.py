"""Async jobs under `dbconnector serve` (gunicorn) that is killed and started again on the same
data dir: a job queued while no worker runs starts once one does, and a job whose process was
killed mid-statement is marked failed "interrupted" within the lease, never left running."""

from __future__ import annotations

import time
from typing import Any

import pytest

from dbconnector.store.seed import DEMO_TOKEN
from tests.support.app import OWNER
from tests.support.servers import SERVED_SETTINGS, Service

pytestmark = pytest.mark.live

SLOW = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
# One data dir across the instances a test starts, so not the `served` fixture (a new dir each).
BASE = {
    **SERVED_SETTINGS,
    "DBCONNECTOR_WORKERS": "1",
    "DBCONNECTOR_JOB_LEASE_SECONDS": "2",
}


def _submit(service: Service, token: str, statement: str) -> str:
    status, body = service.call(
        "POST", "/v1/jobs/query/sqlite", {"token": DEMO_TOKEN, "statement": statement}, token
    )
    assert status == 202, body
    return body["jobId"]


def _wait(
    service: Service, token: str, job_id: str, *statuses: str
) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    while True:
        status, job = service.call("GET", f"/v1/jobs/{job_id}", token=token)
        assert status == 200, job
        if job["status"] in statuses:
            return job, time.monotonic() - started
        assert time.monotonic() - started < 30, job
        time.sleep(0.1)


def test_a_queued_job_runs_once_a_worker_starts(tmp_path):
    stopped = Service(tmp_path, **BASE, DBCONNECTOR_JOB_WORKERS="0")
    try:
        token = stopped.login(*OWNER)
        job_id = _submit(stopped, token, 'SELECT COUNT(*) AS n FROM "testTable"')
        time.sleep(1.5)  # the instance has no workers: nothing may pick the job up
        assert stopped.call("GET", f"/v1/jobs/{job_id}", token=token)[1]["status"] == "queued"
    finally:
        stopped.stop()
    started = Service(tmp_path, **BASE, DBCONNECTOR_JOB_WORKERS="1")
    try:
        token = started.login(*OWNER)
        job, _ = _wait(started, token, job_id, "succeeded", "failed")
        assert (job["status"], job["rows"]) == ("succeeded", 1)
        status, page = started.call("GET", f"/v1/jobs/{job_id}/results/0", token=token)
        assert status == 200 and page["rows"] == [{"n": 8}]
    finally:
        started.stop()


def test_a_job_whose_process_was_killed_is_failed_interrupted_within_the_lease(tmp_path):
    first = Service(tmp_path, **BASE, DBCONNECTOR_JOB_WORKERS="1")
    try:
        token = first.login(*OWNER)
        job_id = _submit(first, token, SLOW)
        _wait(first, token, job_id, "running")
    finally:
        first.stop()  # SIGKILL to the whole service, mid-statement
    second = Service(tmp_path, **BASE, DBCONNECTOR_JOB_WORKERS="1")
    try:
        token = second.login(*OWNER)
        job, waited = _wait(second, token, job_id, "failed", "succeeded", "cancelled")
        assert job["status"] == "failed"
        assert job["error"] == "The job was interrupted: the process running it stopped"
        assert waited < 2 + 5 + 5  # the lease, a sweep interval, and slack for a loaded machine
    finally:
        second.stop()
