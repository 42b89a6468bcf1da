"""The embedded engine: claims, leases, restarts, a dead process's job, cancel of a running SQLite
statement through Connection.interrupt(), and the audit lines."""

from __future__ import annotations

import json
import logging
import threading

from dbconnector.execution.jobs.queue import Queue
from dbconnector.store import jobs as job_store
from dbconnector.telemetry.requestlog import JsonFormatter

SLOW = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


def test_two_queues_never_claim_the_same_job(jobs, in_threads):
    for _ in range(6):
        jobs.submit("select", table="testTable")
    engine = jobs.env.services.engine
    queues = [Queue(engine, 30) for _ in range(3)]
    claimed: list[str] = []
    lock = threading.Lock()

    def drain(queue: Queue) -> None:
        while (job := queue.claim()) is not None:
            with lock:
                claimed.append(job.id)

    in_threads(drain, queues)
    assert len(claimed) == 6 and len(set(claimed)) == 6


def test_a_job_queued_while_the_service_is_stopped_runs_after_it_starts(make_jobs, tmp_path):
    stopped = make_jobs()  # no worker threads: as if the service were down
    job_id = stopped.submit("select", table="testTable")
    url = stopped.env.services.settings.database_url
    stopped.env.services.jobs.stop()
    restarted = make_jobs(token=stopped.token, database_url=url, job_workers=2)
    job = restarted.wait_for(job_id, "succeeded", "failed")
    assert job["status"] == "succeeded" and job["rows"] == 8


def test_a_job_whose_process_died_is_failed_interrupted_within_the_lease(jobs, clock):
    job_id = jobs.submit("select", table="testTable")
    dead = Queue(jobs.env.services.engine, lease_seconds=30)
    assert dead.claim().id == job_id  # then the process "dies": nobody renews its lease
    assert jobs.status(job_id)["status"] == "running"
    assert jobs.workers.queue.sweep() == (0, 0)  # the lease still holds
    clock.shift(31)
    assert jobs.workers.queue.sweep() == (0, 1)
    job = jobs.status(job_id)
    assert job["status"] == "failed"
    assert job["error"] == "The job was interrupted: the process running it stopped"
    # The dead process cannot end it afterwards: its lease is gone.
    assert dead.finish(job_id, job_store.SUCCEEDED) == job_store.FAILED
    assert jobs.status(job_id)["status"] == "failed"


def test_a_live_process_keeps_its_lease_by_renewing_it(jobs, clock):
    job_id = jobs.submit("select", table="testTable")
    holder = Queue(jobs.env.services.engine, lease_seconds=30)
    holder.claim()
    for _ in range(4):
        clock.shift(20)
        holder.renew([job_id])
        assert jobs.workers.queue.sweep() == (0, 0)
    assert jobs.status(job_id)["status"] == "running"


def test_a_running_sqlite_statement_is_interrupted_by_cancel(make_jobs):
    jobs = make_jobs(job_workers=1)
    job_id = jobs.submit("query", statement=SLOW)
    jobs.wait_for(job_id, "running")
    answer = jobs.env.owner.post(f"/v1/jobs/{job_id}/cancel")
    assert answer.status_code == 200 and answer.get_json() == {"status": "cancelled"}
    job = jobs.wait_for(job_id, "cancelled", "failed", "succeeded")
    assert job["status"] == "cancelled" and job["error"] is None
    assert jobs.env.owner.get(f"/v1/jobs/{job_id}/results").status_code == 410
    # The worker is free again: the next job runs.
    follow = jobs.submit("select", table="testTable")
    assert jobs.wait_for(follow, "succeeded", "failed")["status"] == "succeeded"


def test_a_cancelled_sqlite_batch_commits_nothing(make_jobs):
    jobs = make_jobs(job_workers=1)
    statement = f'INSERT INTO "testTable" ("Name") VALUES (\'kept?\'); {SLOW}'
    job_id = jobs.submit("query", statement=statement)
    jobs.wait_for(job_id, "running")
    assert jobs.env.owner.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
    assert jobs.wait_for(job_id, "cancelled", "failed", "succeeded")["status"] == "cancelled"
    rows = jobs.env.owner.post("/v1/select/sqlite", {"token": jobs.token, "table": "testTable"})
    assert len(rows.get_json()) == 8


def test_submit_cancel_and_delete_write_audit_lines_without_values(jobs, caplog):
    caplog.set_level(logging.INFO)
    job_id = jobs.submit("query", statement="SELECT 'secret-value' AS v")
    jobs.env.owner.post(f"/v1/jobs/{job_id}/cancel")
    jobs.env.owner.delete(f"/v1/jobs/{job_id}")
    formatter = JsonFormatter()
    audit = [
        json.loads(formatter.format(record))
        for record in caplog.records
        if record.name == "dbconnector.audit"
    ]
    actions = [(line["action"], line.get("job_id")) for line in audit]
    assert actions == [("job.submit", job_id), ("job.cancel", job_id), ("job.delete", job_id)]
    assert audit[0]["kind"] == "query" and audit[0]["connection"] == "demo"
    assert all(line["actor_id"] == jobs.env.owner.userid for line in audit)


def test_the_stored_body_is_sealed(jobs):
    job_id = jobs.submit("query", statement="SELECT 'city-data-value' AS v")
    with jobs.env.services.engine.connect() as conn:
        stored = job_store.get(conn, job_id).body
    assert "city-data-value" not in stored
    assert "city-data-value" in jobs.env.services.box.open(stored)


def test_a_cancel_taken_by_another_instance_reaches_the_holding_one(make_jobs):
    holder = make_jobs(job_workers=1)
    url = holder.env.services.settings.database_url
    other = make_jobs(token=holder.token, database_url=url)  # no workers: it only takes calls
    job_id = other.submit("query", statement=SLOW)
    holder.wait_for(job_id, "running")
    answer = other.env.owner.post(f"/v1/jobs/{job_id}/cancel")
    assert (answer.status_code, answer.get_json()) == (200, {"status": "cancelled"})
    assert other.wait_for(job_id, "cancelled", "failed", "succeeded")["status"] == "cancelled"
