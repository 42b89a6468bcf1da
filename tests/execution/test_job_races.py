"""The two races of the first stage, on both engines: a cancel that comes after the job's last
check answers 409 and the job reports what happened (its work was committed), and a process
that lost its lease can no longer write pages or end the job."""

from __future__ import annotations

from sqlalchemy import event, func, select

from dbconnector.execution.jobs.queue import Queue
from dbconnector.execution.jobs.runner import run_job
from dbconnector.store import jobs as job_store
from dbconnector.store.tables import job_pages

INSERT = 'INSERT INTO "testTable" ("Name") VALUES (\'committed\'); SELECT 1 AS one'


def _between_check_and_commit(jobs, call):  # type: ignore[no-untyped-def]
    """Run the queued job, making `call` (an API call) while it is past its last cancel check
    and before its commit; the call's response."""
    queue = jobs.workers.queue
    checked = queue.begin_commit
    answers = []

    def then_call(job_id: str) -> bool:
        passed = checked(job_id)
        answers.append(call(job_id))
        return passed

    queue.begin_commit = then_call
    try:
        jobs.run_all()
    finally:
        del queue.begin_commit
    return answers[0]


def _names(jobs) -> list[str]:  # type: ignore[no-untyped-def]
    rows = jobs.env.owner.post("/v1/select/sqlite", {"token": jobs.token, "table": "testTable"})
    return [row["Name"] for row in rows.get_json()]


def _pages(jobs, job_id: str) -> int:  # type: ignore[no-untyped-def]
    with jobs.env.services.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(job_pages).where(job_pages.c.job_id == job_id)
        ).scalar_one()


def test_a_cancel_after_the_last_check_is_409_and_the_job_succeeds(jobs):
    job_id = jobs.submit("query", statement=INSERT)

    def cancel(job_id: str):  # type: ignore[no-untyped-def]
        assert jobs.status(job_id)["status"] == "running"  # committing reads as running
        return jobs.env.owner.post(f"/v1/jobs/{job_id}/cancel")

    answer = _between_check_and_commit(jobs, cancel)
    assert answer.status_code == 409
    assert answer.get_json() == {
        "error": "The job is committing its work: it can no longer be cancelled",
        "status": "running",
    }
    job = jobs.status(job_id)
    assert (job["status"], job["rows"]) == ("succeeded", 1)
    assert "committed" in _names(jobs)  # what the status says is what happened


def test_a_delete_while_committing_drops_the_results_and_reads_expired(jobs):
    job_id = jobs.submit("query", statement=INSERT)
    answer = _between_check_and_commit(
        jobs, lambda job_id: jobs.env.owner.delete(f"/v1/jobs/{job_id}")
    )
    assert (answer.status_code, answer.get_json()) == (200, {})
    assert jobs.status(job_id)["status"] == "expired"
    assert jobs.env.owner.get(f"/v1/jobs/{job_id}/results").status_code == 410
    assert _pages(jobs, job_id) == 0


def test_a_cancel_before_the_last_check_commits_nothing(jobs):
    jobs.submit("query", statement=INSERT)
    queue = jobs.workers.queue
    checked = queue.begin_commit

    def cancel_first(job_id: str) -> bool:
        assert jobs.env.owner.post(f"/v1/jobs/{job_id}/cancel").status_code == 200
        return checked(job_id)

    queue.begin_commit = cancel_first
    try:
        assert jobs.run_all() == ["cancelled"]
    finally:
        del queue.begin_commit
    assert "committed" not in _names(jobs)


def test_a_process_that_lost_its_lease_writes_no_page_and_cannot_end_the_job(jobs, clock):
    job_id = jobs.submit("select", table="testTable")
    workers = jobs.workers
    job = workers.queue.claim_one(job_id)
    clock.shift(workers.queue.lease.total_seconds() + 1)  # this process stalls past its lease
    assert Queue(jobs.env.services.engine, 30).sweep() == (0, 1)  # another one sweeps it
    running = workers.registry.add(job_id)
    assert run_job(workers.context, job, running) == job_store.FAILED
    answer = jobs.status(job_id)
    assert answer["error"] == job_store.INTERRUPTED and answer["rows"] == 0
    assert _pages(jobs, job_id) == 0
    with jobs.env.services.engine.connect() as conn:
        assert job_store.get(conn, job_id).lease_owner is None


def _before_finish(jobs, call):  # type: ignore[no-untyped-def]
    """Run the queued job, making `call` once its rows are spooled and before it ends."""
    queue = jobs.workers.queue
    finish = queue.finish
    answers = []

    def call_then_finish(job_id: str, status: str, **values):  # type: ignore[no-untyped-def]
        answers.append(call(job_id))
        return finish(job_id, status, **values)

    queue.finish = call_then_finish
    try:
        jobs.run_all()
    finally:
        del queue.finish
    return answers[0]


def test_a_select_cancelled_after_its_rows_are_spooled_ends_cancelled_without_pages(jobs):
    # A select keeps nothing at the target, so it takes no committing step: the end decides.
    job_id = jobs.submit("select", table="testTable")
    answer = _before_finish(jobs, lambda job_id: jobs.env.owner.post(f"/v1/jobs/{job_id}/cancel"))
    assert (answer.status_code, answer.get_json()) == (200, {"status": "cancelled"})
    job = jobs.status(job_id)
    assert (job["status"], job["rows"]) == ("cancelled", 0)
    assert _pages(jobs, job_id) == 0
    again = jobs.env.owner.post(f"/v1/jobs/{job_id}/cancel")
    assert again.status_code == 409 and again.get_json()["status"] == "cancelled"


def test_a_one_page_select_job_runs_on_two_metadata_writes(jobs):
    # The claim, then the finish with the result's page: no write of its own for the page and
    # no committing step for a select (each write queues on SQLite's write lock).
    job_id = jobs.submit("select", table="testTable")
    commits = []
    engine = jobs.env.services.engine

    def committed(conn) -> None:  # type: ignore[no-untyped-def]
        commits.append(1)

    event.listen(engine, "commit", committed)
    try:
        assert jobs.run_all() == ["succeeded"]
    finally:
        event.remove(engine, "commit", committed)
    assert len(commits) == 2
    page = jobs.env.owner.get(f"/v1/jobs/{job_id}/results/0?limit=3").get_json()
    assert [row["ID"] for row in page["rows"]] == [1, 2, 3] and page["total"] == 8
