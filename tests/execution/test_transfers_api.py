"""POST /v1/jobs/transfer in process, SQLite to SQLite: validation at submit time with the
synchronous endpoints' 400s, the permission rules, another user's transfer, progress, and a
transfer queued while the service was down running after it starts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dbconnector.lib.roles import Role
from tests.support import transfers
from tests.support.transfers import transfer_body


@pytest.fixture
def out_file(demo_target: Path) -> Path:
    path = demo_target.parent / "out.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE people (ID INTEGER PRIMARY KEY, Name VARCHAR(100), Age INTEGER)")
    return path


@pytest.fixture
def pair(jobs, out_file):  # type: ignore[no-untyped-def]
    """(jobs, source token, target token): the demo's testTable and an empty `people` table."""
    target = jobs.env.connection({"driver": "sqlite", "database": str(out_file)}, name="out")
    return jobs, jobs.token, target


def _people(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT ID, Name, Age FROM people ORDER BY ID").fetchall()


def test_a_table_source_lands_in_the_target_with_progress(pair, out_file):
    jobs, source, target = pair
    body = transfer_body(
        source,
        target,
        "people",
        batch=3,
        table="testTable",
        fields=["ID", "Name", "Age"],
        filter=[{">Age": 30}],
        sort=["ID"],
    )
    job_id = transfers.submit(jobs.env, body)
    assert transfers.status(jobs.env, job_id)["progress"] == {"rowsRead": 0, "rowsWritten": 0}
    assert jobs.run_all() == ["succeeded"]
    job = transfers.status(jobs.env, job_id)
    older = [(r[0], r[1], r[4]) for r in _spec_rows() if r[4] > 30]
    assert (job["kind"], job["rows"]) == ("transfer", len(older))
    assert job["progress"] == {"rowsRead": len(older), "rowsWritten": len(older)}
    assert _people(out_file) == older
    # The other /v1/jobs routes work on it: it has no result sets.
    results = jobs.env.owner.get(f"/v1/jobs/{job_id}/results").get_json()
    assert results["resultSets"] == []
    assert [j["jobId"] for j in jobs.env.owner.get("/v1/jobs").get_json()] == [job_id]
    assert jobs.env.owner.delete(f"/v1/jobs/{job_id}").status_code == 200


def _spec_rows() -> list[tuple]:
    from dbconnector.store.seed import TEST_TABLE_ROWS

    return list(TEST_TABLE_ROWS)


BAD = [
    ({"target": {"token": "T", "table": "people"}}, "Missing source in payload"),
    ({"source": {"token": "S", "table": "testTable"}}, "Missing target in payload"),
    (
        {"source": {"token": "S"}, "target": {"token": "T", "table": "people"}},
        "source needs a statement or a table (not both)",
    ),
    (
        {
            "source": {"token": "S", "table": "testTable", "statement": "SELECT 1"},
            "target": {"token": "T", "table": "people"},
        },
        "source needs a statement or a table (not both)",
    ),
    (
        {
            "source": {"token": "S", "table": "testTable", "limit": 5},
            "target": {"token": "T", "table": "people"},
        },
        "source.limit and source.page are not taken: a transfer copies every row",
    ),
    (
        {
            "source": {"token": "S", "table": "testTable"},
            "target": {"token": "T", "table": "people", "mode": "merge"},
        },
        "target.mode must be one of append, create, replace",
    ),
    (
        {
            "source": {"token": "S", "table": "testTable"},
            "target": {"token": "T", "table": "people; DROP TABLE x"},
        },
        "target.table 'people; DROP TABLE x' is not a plain identifier",
    ),
    (
        {
            "source": {"token": "S", "table": "no such; table"},
            "target": {"token": "T", "table": "people"},
        },
        "table 'no such; table' is not a plain identifier",
    ),
    (
        {
            "source": {"token": "S", "table": "testTable", "filter": [{"=Age": 1}]},
            "target": {"token": "T", "table": "people"},
            "batchSize": 50_001,
        },
        "batchSize must be between 1 and 50000",
    ),
    (
        {
            "source": {"token": "00000000-0000-0000-0000-000000000000", "table": "testTable"},
            "target": {"token": "T", "table": "people"},
        },
        "connToken not found",
    ),
]


@pytest.mark.parametrize("body, message", BAD)
def test_bad_bodies_are_400s_and_queue_nothing(pair, body, message):
    jobs, source, target = pair
    body = dict(body)  # the parameters are shared by every run
    for side, token in (("source", source), ("target", target)):
        if side in body and body[side]["token"] in ("S", "T"):
            body[side] = {**body[side], "token": token}
    response = jobs.env.owner.post("/v1/jobs/transfer", body)
    assert (response.status_code, response.get_json()) == (400, {"error": message})
    assert jobs.env.owner.get("/v1/jobs").get_json() == []


def test_roles_per_source_and_mode(pair):
    jobs, source, target = pair
    env = jobs.env
    select = {"table": "testTable", "fields": ["ID", "Name", "Age"]}
    statement = {"statement": 'SELECT "ID", "Name", "Age" FROM testTable'}
    cases = [
        (Role.READ, select, "append", 403),
        (Role.ALTER, select, "append", 202),
        (Role.ALTER, statement, "append", 403),
        (Role.ALTER, select, "create", 403),
        (Role.ALTER, select, "replace", 403),
        (Role.FULL, statement, "append", 202),
        (Role.FULL, select, "create", 202),
        (Role.FULL, statement, "replace", 202),
    ]
    for role, source_part, mode, expected in cases:
        caller = env.user(role)
        env.grant(source, caller)
        env.grant(target, caller)
        body = transfer_body(source, target, "people", mode, **source_part)
        response = caller.post("/v1/jobs/transfer", body)
        assert response.status_code == expected, (role, source_part, mode, response.get_json())
        assert response.get_json() == ({} if expected == 403 else response.get_json())


@pytest.mark.parametrize("granted", ["source", "target"])
def test_a_grant_is_needed_on_both_connections(pair, granted):
    jobs, source, target = pair
    caller = jobs.env.user(Role.FULL)
    jobs.env.grant(source if granted == "source" else target, caller)
    response = caller.post(
        "/v1/jobs/transfer", transfer_body(source, target, "people", table="testTable")
    )
    assert (response.status_code, response.get_json()) == (403, {})


def test_another_users_transfer_is_not_found(pair):
    jobs, source, target = pair
    job_id = transfers.submit(jobs.env, transfer_body(source, target, "people", table="testTable"))
    other = jobs.env.user(Role.FULL)
    for method, path in (
        ("get", f"/v1/jobs/{job_id}"),
        ("post", f"/v1/jobs/{job_id}/cancel"),
        ("delete", f"/v1/jobs/{job_id}"),
    ):
        response = getattr(other, method)(path)
        assert (response.status_code, response.get_json()) == (404, {"error": "Job not found"})


def test_a_transfer_queued_while_the_service_is_stopped_runs_after_it_starts(
    make_jobs, demo_target, out_file
):
    stopped = make_jobs()  # no worker threads: as if the service were down
    target = stopped.env.connection({"driver": "sqlite", "database": str(out_file)}, name="out")
    body = transfer_body(
        stopped.token, target, "people", table="testTable", fields=["ID", "Name", "Age"]
    )
    job_id = transfers.submit(stopped.env, body)
    url = stopped.env.services.settings.database_url
    stopped.env.services.jobs.stop()
    restarted = make_jobs(token=stopped.token, database_url=url, job_workers=1)
    job = transfers.wait_for(restarted.env, job_id)
    assert (job["status"], job["progress"]["rowsWritten"]) == ("succeeded", 8)
    assert len(_people(out_file)) == 8


def test_a_table_copied_within_one_sqlite_file(jobs, demo_target):
    """Source and target on the same connection (the README's example): the read finishes with
    the batch it is in, so the write is never blocked by it."""
    body = transfer_body(jobs.token, jobs.token, "people_copy", "create", table="testTable")
    job_id = transfers.submit(jobs.env, body)
    assert jobs.run_all() == ["succeeded"], transfers.status(jobs.env, job_id)
    with sqlite3.connect(demo_target) as db:
        copied = db.execute("SELECT * FROM people_copy ORDER BY ID").fetchall()
        assert copied == db.execute("SELECT * FROM testTable ORDER BY ID").fetchall()
        declared = [row[2] for row in db.execute("PRAGMA table_info(people_copy)")]
    assert declared == ["INTEGER", "TEXT", "TEXT", "TEXT", "INTEGER"]
