"""Helpers for the transfer tests: submit POST /v1/jobs/transfer bodies and wait for the job."""

from __future__ import annotations

import time
from typing import Any

from tests.support.app import Caller, Env

WAIT_SECONDS = 60.0
ENDED = ("succeeded", "failed", "cancelled")


def transfer_body(
    source_token: str,
    target_token: str,
    target_table: str,
    mode: str = "append",
    batch: int | None = None,
    **source: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": {"token": source_token, **source},
        "target": {"token": target_token, "table": target_table, "mode": mode},
    }
    if batch is not None:
        body["batchSize"] = batch
    return body


def submit(env: Env, body: dict[str, Any], caller: Caller | None = None) -> str:
    response = (caller or env.owner).post("/v1/jobs/transfer", body)
    assert response.status_code == 202, response.get_json()
    answer = response.get_json()
    assert answer["status"] == "queued"
    assert response.headers["Location"] == f"/v1/jobs/{answer['jobId']}"
    return answer["jobId"]


def status(env: Env, job_id: str, caller: Caller | None = None) -> dict[str, Any]:
    response = (caller or env.owner).get(f"/v1/jobs/{job_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def wait_for(env: Env, job_id: str, *statuses: str, **until: Any) -> dict[str, Any]:
    """Poll (bounded) until the job reaches one of `statuses` (default: any end); with
    `written=N`, until at least N rows were written."""
    wanted = statuses or ENDED
    written = until.get("written")
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        job = status(env, job_id)
        if written is not None and job["progress"]["rowsWritten"] >= written:
            return job
        if written is None and job["status"] in wanted:
            return job
        assert job["status"] not in ENDED or job["status"] in wanted, job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
