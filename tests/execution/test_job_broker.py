"""The RQ engine's own behaviour, on the local Redis: a lost entry is enqueued again, a cancelled
job leaves the queue, Redis down at submit is a clean 503, and the metrics show the queue."""

from __future__ import annotations

from tests.execution.conftest import job_broker
from tests.execution.test_jobs_api import _sample


def test_a_lost_rq_entry_is_enqueued_again_and_the_job_still_runs(make_jobs, clock):
    jobs = make_jobs(**job_broker())
    broker = jobs.workers.broker
    job_id = jobs.submit("select", table="testTable")
    assert broker.queue.job_ids == [job_id]
    broker.queue.empty()  # Redis restarted and kept nothing
    assert broker.queue.job_ids == [] and jobs.run_all() == []
    assert jobs.workers.requeue_lost() == []  # younger than a lease: not taken for lost yet
    clock.shift(jobs.workers.queue.lease.total_seconds() + 1)
    assert jobs.workers.requeue_lost() == [job_id]
    assert jobs.workers.requeue_lost() == []  # its entry is there again
    assert jobs.run_all() == ["succeeded"]
    assert jobs.status(job_id)["rows"] == 8


def test_a_cancelled_queued_job_leaves_the_rq_queue_and_never_runs(make_jobs):
    jobs = make_jobs(**job_broker())
    job_id = jobs.submit("select", table="testTable")
    kept = jobs.submit("select", table="testTable")
    assert jobs.env.owner.post(f"/v1/jobs/{job_id}/cancel").get_json() == {"status": "cancelled"}
    assert jobs.workers.broker.queue.job_ids == [kept]
    assert jobs.run_all() == ["succeeded"]
    assert jobs.status(job_id)["status"] == "cancelled"


def test_an_rq_entry_doubled_runs_the_job_once(make_jobs):
    jobs = make_jobs(**job_broker())
    job_id = jobs.submit("select", table="testTable")
    jobs.workers.broker.enqueue(job_id)  # as a requeue racing a slow worker would
    jobs.workers.broker.queue.enqueue_call(
        "dbconnector.execution.jobs.dedicated.perform", args=(job_id,), result_ttl=0
    )
    assert jobs.run_all() == ["succeeded"]


def test_redis_down_at_submit_is_a_clean_503_and_stores_nothing(make_jobs):
    jobs = make_jobs(job_broker_url="redis://127.0.0.1:1/0")
    answer = jobs.post("select", table="testTable")
    assert answer.status_code == 503
    assert answer.get_json() == {"error": "The job queue is unreachable: try again later"}
    assert jobs.env.owner.get("/v1/jobs").get_json() == []


def test_metrics_show_the_rq_queue_depth_and_the_job_counts(make_jobs):
    jobs = make_jobs(**job_broker())
    for _ in range(3):
        jobs.submit("select", table="testTable")
    text = jobs.env.anon.get("/admin/metrics").get_data(as_text=True)
    assert _sample(text, "dbc_job_broker_depth") == 3
    assert _sample(text, 'dbc_jobs{status="queued"}') == 3
    jobs.run_all()
    text = jobs.env.anon.get("/admin/metrics").get_data(as_text=True)
    assert _sample(text, "dbc_job_broker_depth") == 0
    assert _sample(text, 'dbc_jobs{status="queued"}') == 0
    assert _sample(text, 'dbc_jobs{status="succeeded"}') == 3
