"""A job runs, and its results are read, under rights of now: a submitter demoted while its job
waited in the queue no longer runs it, nor reads what it ran before; and one user's jobs take at
most DBCONNECTOR_JOB_MAX_RUNNING of the workers, the rest waiting their turn."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from dbconnector.auth.roles import Role

INSERT = "INSERT INTO testTable (Name, Address, Sex, Age) VALUES ('Queued', 'x', 'Male', 1)"


def _rows(jobs) -> int:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{jobs.demo_path}")
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM testTable")).scalar_one()
    finally:
        engine.dispose()


def test_a_user_demoted_while_its_insert_waits_runs_and_reads_nothing(jobs, demo_target):
    jobs.demo_path = demo_target
    full = jobs.env.user(Role.FULL)
    jobs.env.grant(jobs.token, full)
    earlier = jobs.submit("query", full, statement="SELECT Name FROM testTable ORDER BY ID")
    jobs.run_all()
    assert full.get(f"/v1/jobs/{earlier}/results/0").status_code == 200
    # Behind four long jobs of others, the INSERT waits; meanwhile its submitter is demoted.
    waiting = [jobs.submit("select", table="testTable") for _ in range(4)]
    insert = jobs.submit("query", full, statement=INSERT)
    demoted = jobs.env.owner.patch(f"/v1/users/{full.userid}", {"role": int(Role.READ)})
    assert demoted.status_code == 200, demoted.get_json()
    assert sorted(jobs.run_all()) == ["failed"] + ["succeeded"] * len(waiting)
    job = jobs.status(insert)
    assert job["status"] == "failed"
    assert job["error"] == (
        f"user {full.userid} (role 1) may not run this query job: its role has changed"
    )
    assert _rows(jobs) == 8  # nothing written
    for path in (f"/v1/jobs/{earlier}/results", f"/v1/jobs/{earlier}/results/0"):
        answer = full.get(path)
        assert (answer.status_code, answer.get_json()) == (403, {})
    # Given the role back, the earlier results read again: nothing was deleted.
    restored = jobs.env.owner.patch(f"/v1/users/{full.userid}", {"role": int(Role.FULL)})
    assert restored.status_code == 200
    assert full.get(f"/v1/jobs/{earlier}/results/0").get_json()["total"] == 8


def test_one_user_holds_at_most_its_running_cap_of_the_workers(make_jobs):
    jobs = make_jobs(job_max_running=2)
    greedy = jobs.env.user(Role.READ)
    other = jobs.env.user(Role.READ)
    for user in (greedy, other):
        jobs.env.grant(jobs.token, user)
    mine = [jobs.submit("select", greedy, table="testTable") for _ in range(4)]
    theirs = jobs.submit("select", other, table="testTable")
    queue = jobs.workers.queue
    claimed = [queue.claim() for _ in range(4)]
    # Two of greedy's, then the other user's, though greedy's two more were queued first.
    assert [job.id if job else None for job in claimed] == [mine[0], mine[1], theirs, None]
    assert [jobs.status(job_id)["status"] for job_id in mine] == ["running"] * 2 + ["queued"] * 2
    # As one of greedy's ends, the next of greedy's may start.
    queue.finish(mine[0], "succeeded")
    assert queue.claim().id == mine[2]
    assert queue.claim() is None
