"""A job's summary and error text are sealed in the metadata database as its pages are: the
columns, output values and a database's words never lie there in plaintext, and read back as
they were."""

from __future__ import annotations

from sqlalchemy import select

from dbconnector.store.tables import jobs as jobs_table


def _stored(jobs, job_id: str):  # type: ignore[no-untyped-def]
    with jobs.env.services.engine.connect() as conn:
        query = select(jobs_table.c.summary, jobs_table.c.error)
        return conn.execute(query.where(jobs_table.c.id == job_id)).one()


def test_summary_and_error_are_sealed_and_read_back(jobs):
    done = jobs.submit("query", statement="SELECT Name AS secret_column FROM testTable")
    failed = jobs.submit("query", statement="SELECT * FROM table_named_in_the_error")
    assert sorted(jobs.run_all()) == ["failed", "succeeded"]

    summary, error = _stored(jobs, done)
    assert error is None and "secret_column" not in summary and summary.startswith("gAAAAA")
    results = jobs.env.owner.get(f"/v1/jobs/{done}/results").get_json()
    assert results["resultSets"][0]["columns"][0]["name"] == "secret_column"
    page = jobs.env.owner.get(f"/v1/jobs/{done}/results/0?limit=1").get_json()
    assert len(page["rows"]) == 1 and list(page["rows"][0]) == ["secret_column"]

    summary, error = _stored(jobs, failed)
    assert "table_named_in_the_error" not in error and error.startswith("gAAAAA")
    assert "table_named_in_the_error" not in summary
    status = jobs.status(failed)
    assert status["status"] == "failed"
    assert status["error"] == "no such table: table_named_in_the_error"
