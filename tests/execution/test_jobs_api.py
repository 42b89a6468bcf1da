"""The jobs API on a real SQLite target, with the workers driven step by step: submit, status,
listing, results by page and as CSV/NDJSON, cancel, delete, expiry and who may see what."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from sqlalchemy import func, select

from dbconnector.lib.roles import Role
from dbconnector.store.tables import job_pages

SPEC_IDS = list(range(1, 9))


def _pages(jobs, job_id: str) -> int:  # type: ignore[no-untyped-def]
    with jobs.env.services.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(job_pages).where(job_pages.c.job_id == job_id)
        ).scalar_one()


def test_a_select_job_runs_and_its_rows_match_the_synchronous_select(jobs):
    body = {"table": "testTable", "sort": ["ID"], "limit": 8}
    job_id = jobs.submit("select", **body)
    queued = jobs.status(job_id)
    assert queued["status"] == "queued" and queued["startedAt"] is None
    assert queued["kind"] == "select" and queued["connection"] == "demo"
    assert jobs.run_all() == ["succeeded"]

    job = jobs.status(job_id)
    assert job["status"] == "succeeded" and job["rows"] == 8 and job["resultSets"] == 1
    assert job["error"] is None and job["durationMs"] >= 0
    for key in ("createdAt", "startedAt", "completedAt", "expiresAt"):
        assert job[key].endswith("Z") and dt.datetime.fromisoformat(job[key])

    results = jobs.env.owner.get(f"/v1/jobs/{job_id}/results").get_json()
    assert results == {
        "resultSets": [
            {
                "index": 0,
                "columns": [
                    {"name": "ID", "type": "INTEGER", "format": "integer"},
                    {"name": "Name", "type": "TEXT", "format": "string"},
                    {"name": "Address", "type": "TEXT", "format": "string"},
                    {"name": "Sex", "type": "TEXT", "format": "string"},
                    {"name": "Age", "type": "INTEGER", "format": "integer"},
                ],
                "rows": 8,
            }
        ],
        "output": None,
    }
    synchronous = jobs.env.owner.post("/v1/select/sqlite", {"token": jobs.token, **body}).get_json()
    page = jobs.env.owner.get(f"/v1/jobs/{job_id}/results/0").get_json()
    assert page["rows"] == synchronous
    assert (page["offset"], page["limit"], page["total"], page["next"]) == (0, 1000, 8, None)


def test_pages_follow_next_to_the_end(jobs):
    job_id = jobs.submit("select", table="testTable", sort=["ID"], limit=8)
    jobs.run_all()
    seen, url = [], f"/v1/jobs/{job_id}/results/0?offset=0&limit=3"
    while url:
        page = jobs.env.owner.get(url).get_json()
        seen.append([row["ID"] for row in page["rows"]])
        url = page["next"]
    assert seen == [[1, 2, 3], [4, 5, 6], [7, 8]]
    too_many = jobs.env.owner.get(f"/v1/jobs/{job_id}/results/0?limit=10001")
    assert too_many.status_code == 400 and "limit" in too_many.get_json()["error"]
    assert jobs.env.owner.get(f"/v1/jobs/{job_id}/results/1").status_code == 404


def test_csv_and_ndjson_stream_the_whole_result_set(jobs):
    job_id = jobs.submit(
        "query",
        statement='SELECT "ID", "Name", "Address" FROM "testTable" WHERE "ID" <= 2 ORDER BY "ID"',
    )
    jobs.run_all()
    as_csv = jobs.env.owner.get(f"/v1/jobs/{job_id}/results/0?format=csv")
    assert as_csv.mimetype == "text/csv"
    assert as_csv.get_data(as_text=True) == (
        "ID,Name,Address\r\n"
        '1,David Upton,"1 Nevermind St, Nowhere"\r\n'
        "2,Matt McGowan,14 Glochester Park\r\n"
    )
    as_ndjson = jobs.env.owner.get(f"/v1/jobs/{job_id}/results/0?format=ndjson")
    assert as_ndjson.mimetype == "application/x-ndjson"
    lines = as_ndjson.get_data(as_text=True).splitlines()
    assert [json.loads(line) for line in lines] == [
        {"ID": 1, "Name": "David Upton", "Address": "1 Nevermind St, Nowhere"},
        {"ID": 2, "Name": "Matt McGowan", "Address": "14 Glochester Park"},
    ]


def test_a_batch_with_several_result_sets_keeps_each_and_its_exact_decimals(jobs):
    job_id = jobs.submit("query", statement="SELECT 1 AS a, 'x' AS b; SELECT 2.5 AS c, NULL AS d")
    jobs.run_all()
    sets = jobs.env.owner.get(f"/v1/jobs/{job_id}/results").get_json()["resultSets"]
    assert [s["rows"] for s in sets] == [1, 1]
    assert sets[1]["columns"] == [
        {"name": "c", "type": "REAL", "format": "number"},
        {"name": "d", "type": "NULL", "format": "string"},
    ]
    second = jobs.env.owner.get(f"/v1/jobs/{job_id}/results/1").get_data()
    assert b'"rows":[{"c":2.5,"d":null}]' in second


def test_submit_refuses_what_the_synchronous_endpoint_refuses(jobs):
    for kind, body in (
        ("select", {}),
        ("select", {"table": "testTable", "limit": 5}),
        ("query", {}),
        ("exec", {"procname": "anything"}),
    ):
        synchronous = jobs.env.owner.post(f"/v1/{kind}/sqlite", {"token": jobs.token, **body})
        job = jobs.post(kind, **body)
        assert synchronous.status_code == job.status_code == 400
        assert job.get_json() == synchronous.get_json()
    unknown = jobs.env.owner.post(
        "/v1/jobs/select/sqlite", {"token": str(uuid.uuid4()), "table": "testTable"}
    )
    assert unknown.status_code == 400 and unknown.get_json() == {"error": "connToken not found"}
    assert jobs.post("select", table="testTable", timeout=10**6).get_json() == {
        "error": "timeout may be at most 86400 seconds"
    }
    assert jobs.post("select", table="testTable", retain=0).status_code == 400
    assert jobs.workers.run_one() is None  # nothing was queued


def test_a_queued_job_cancelled_never_starts_and_a_finished_one_is_409(jobs):
    job_id = jobs.submit("query", statement='DELETE FROM "testTable"')
    answer = jobs.env.owner.post(f"/v1/jobs/{job_id}/cancel")
    assert answer.status_code == 200 and answer.get_json() == {"status": "cancelled"}
    assert jobs.run_all() == []
    job = jobs.status(job_id)
    assert job["status"] == "cancelled" and job["startedAt"] is None
    again = jobs.env.owner.post(f"/v1/jobs/{job_id}/cancel")
    assert again.status_code == 409
    assert again.get_json() == {
        "error": "The job has already ended: cancelled",
        "status": "cancelled",
    }
    rows = jobs.env.owner.post("/v1/select/sqlite", {"token": jobs.token, "table": "testTable"})
    assert [row["ID"] for row in rows.get_json()] == SPEC_IDS  # the DELETE never ran
    assert jobs.env.owner.get(f"/v1/jobs/{job_id}/results").status_code == 410


def test_results_are_409_until_the_job_ends(jobs):
    job_id = jobs.submit("select", table="testTable")
    for path in ("results", "results/0"):
        early = jobs.env.owner.get(f"/v1/jobs/{job_id}/{path}")
        assert early.status_code == 409
        assert early.get_json() == {
            "error": "The job has not finished: it is queued",
            "status": "queued",
        }


def test_another_users_job_is_not_found_exactly_like_a_missing_one(jobs):
    alice, bob = jobs.env.user(Role.READ), jobs.env.user(Role.READ)
    for user in (alice, bob):
        jobs.env.grant(jobs.token, user)
    job_id = jobs.submit("select", alice, table="testTable")
    jobs.run_all()
    missing = {"error": "Job not found"}
    for job in (job_id, str(uuid.uuid4()), "not-a-uuid"):
        for method, path in (
            ("GET", f"/v1/jobs/{job}"),
            ("GET", f"/v1/jobs/{job}/results"),
            ("GET", f"/v1/jobs/{job}/results/0"),
            ("POST", f"/v1/jobs/{job}/cancel"),
            ("DELETE", f"/v1/jobs/{job}"),
        ):
            answer = bob.call(method, path)
            assert (answer.status_code, answer.get_json()) == (404, missing), (method, path)
    assert jobs.status(job_id, alice)["status"] == "succeeded"
    assert jobs.status(job_id)["status"] == "succeeded"  # the OWNER sees every job
    assert bob.get("/v1/jobs").get_json() == []
    assert bob.get(f"/v1/jobs?user={alice.userid}").status_code == 403


def test_the_listing_is_newest_first_paged_and_filtered(jobs, clock):
    alice = jobs.env.user(Role.READ)
    jobs.env.grant(jobs.token, alice)
    mine = []
    for _ in range(3):
        mine.append(jobs.submit("select", alice, table="testTable"))
        clock.shift(1)
    theirs = jobs.submit("select", table="testTable")
    listed = [job["jobId"] for job in alice.get("/v1/jobs").get_json()]
    assert listed == mine[::-1]
    assert [j["jobId"] for j in alice.get("/v1/jobs?page=1&limit=2").get_json()] == [mine[0]]
    everyone = [job["jobId"] for job in jobs.env.owner.get("/v1/jobs").get_json()]
    assert everyone == [theirs, *mine[::-1]]
    only = jobs.env.owner.get(f"/v1/jobs?user={alice.userid}").get_json()
    assert [job["jobId"] for job in only] == mine[::-1]
    jobs.env.owner.post(f"/v1/jobs/{mine[1]}/cancel")
    cancelled = alice.get("/v1/jobs?status=cancelled").get_json()
    assert [job["jobId"] for job in cancelled] == [mine[1]]
    assert alice.get("/v1/jobs?status=lost").status_code == 400


def test_results_stop_being_readable_when_the_submitter_loses_the_grant_or_is_disabled(jobs):
    alice = jobs.env.user(Role.READ)
    jobs.env.grant(jobs.token, alice)
    job_id = jobs.submit("select", alice, table="testTable")
    jobs.run_all()
    assert jobs.env.owner.get(f"/v1/jobs/{job_id}/results").status_code == 200
    revoked = jobs.env.owner.delete(f"/v1/connections/{jobs.token}/users/{alice.userid}")
    assert revoked.status_code == 200
    for caller in (alice, jobs.env.owner):
        answer = caller.get(f"/v1/jobs/{job_id}/results/0")
        assert (answer.status_code, answer.get_json()) == (403, {})
    jobs.env.grant(jobs.token, alice)
    assert alice.get(f"/v1/jobs/{job_id}/results/0").status_code == 200
    assert jobs.env.owner.patch(f"/v1/users/{alice.userid}", {"enabled": 0}).status_code == 200
    assert jobs.env.owner.get(f"/v1/jobs/{job_id}/results/0").status_code == 403


def test_delete_drops_the_results_at_once(jobs):
    job_id = jobs.submit("select", table="testTable")
    jobs.run_all()
    assert _pages(jobs, job_id) == 1
    answer = jobs.env.owner.delete(f"/v1/jobs/{job_id}")
    assert (answer.status_code, answer.get_json()) == (200, {})
    assert _pages(jobs, job_id) == 0
    gone = jobs.env.owner.get(f"/v1/jobs/{job_id}/results")
    assert gone.status_code == 410 and "expired" in gone.get_json()["error"]
    assert jobs.status(job_id)["status"] == "expired"


def test_results_expire_after_retain_and_the_sweeper_deletes_them(jobs, clock):
    job_id = jobs.submit("select", table="testTable", retain=60)
    jobs.run_all()
    assert jobs.env.owner.get(f"/v1/jobs/{job_id}/results").status_code == 200
    clock.shift(61)
    assert jobs.env.owner.get(f"/v1/jobs/{job_id}/results").status_code == 410
    assert jobs.status(job_id)["status"] == "expired"
    assert jobs.workers.queue.sweep() == (1, 0)
    assert _pages(jobs, job_id) == 0


def test_caps_on_rows_and_on_jobs_per_user(make_jobs):
    jobs = make_jobs(job_max_rows=5, job_max_active=2)
    first = jobs.submit("select", table="testTable")
    jobs.submit("select", table="testTable")
    refused = jobs.post("select", table="testTable")
    assert refused.status_code == 400
    assert "DBCONNECTOR_JOB_MAX_ACTIVE" in refused.get_json()["error"]
    assert jobs.run_all() == ["failed", "failed"]
    job = jobs.status(first)
    assert job["error"] == "The result has more than 5 rows (the job's cap)" and job["rows"] == 0
    assert _pages(jobs, first) == 0
    jobs.submit("select", table="testTable", limit=5, sort=["ID"])
    assert jobs.run_all() == ["succeeded"]


def test_a_failed_statement_gives_the_synchronous_endpoints_message(jobs):
    statement = "SELECT nope FROM nowhere"
    synchronous = jobs.env.owner.post(
        "/v1/query/sqlite", {"token": jobs.token, "statement": statement}
    ).get_json()
    job_id = jobs.submit("query", statement=statement)
    assert jobs.run_all() == ["failed"]
    assert jobs.status(job_id)["error"] == synchronous["error"] == "no such table: nowhere"


def test_metrics_count_jobs_by_status_and_spooled_rows(jobs):
    before = jobs.env.anon.get("/admin/metrics").get_data(as_text=True)
    spooled = _sample(before, "dbc_job_rows_spooled_total")
    jobs.submit("select", table="testTable")
    jobs.submit("select", table="testTable")
    jobs.workers.run_one()
    text = jobs.env.anon.get("/admin/metrics").get_data(as_text=True)
    assert _sample(text, 'dbc_jobs{status="succeeded"}') == 1
    assert _sample(text, 'dbc_jobs{status="queued"}') == 1
    assert _sample(text, "dbc_job_rows_spooled_total") == spooled + 8
    assert 'dbc_job_run_seconds_count{kind="select",status="succeeded"}' in text


def _sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0
