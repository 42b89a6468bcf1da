"""The RQ engine as deployed: a served instance with DBCONNECTOR_JOB_BROKER_URL, which only
enqueues, and two `dbconnector worker` processes, on the local Redis. Jobs on SQLite, PostgreSQL
and MariaDB run on the workers and are read from the API; a cancel taken by the API stops the
statement at the database on whichever worker runs it; a killed worker's job fails
"interrupted"; a job whose RQ entry was lost still runs."""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from dbconnector.store.jobs import INTERRUPTED
from tests.live.test_execute_endpoints import backend, backend_server  # noqa: F401 - fixtures
from tests.live.test_jobs_live import COUNTED, RECURSIVE, _running, _slow
from tests.support.app import OWNER
from tests.support.live import JOBS_REDIS_URL
from tests.support.servers import SERVED_SETTINGS, JobWorker, Service

pytestmark = pytest.mark.live

LEASE = 2
SWEEP = 5  # worker.py's SWEEP_EVERY


class Cluster:
    """One served instance and two worker processes sharing its metadata database and key."""

    def __init__(self, data_dir: Path, redis_url: str) -> None:
        self.data_dir = data_dir
        self.settings = {
            **SERVED_SETTINGS,
            "DBCONNECTOR_JOB_BROKER_URL": redis_url,
            "DBCONNECTOR_JOB_QUEUE": f"dbc-served-{uuid.uuid4().hex}",
            "DBCONNECTOR_JOB_LEASE_SECONDS": str(LEASE),
        }
        self.redis = redis.Redis.from_url(redis_url)
        self.service = Service(data_dir, **self.settings, DBCONNECTOR_WORKERS="1")
        self.workers: list[JobWorker] = []
        self.token = self.service.login(*OWNER)

    def start_workers(self, count: int = 2) -> None:
        for _ in range(count):
            self.workers.append(JobWorker(self.data_dir, len(self.workers), **self.settings))

    def connection(self, spec: dict[str, Any]) -> str:
        status, body = self.call(
            "POST", "/v1/connection", {"name": f"c{uuid.uuid4().hex[:8]}", "connectionString": spec}
        )
        assert status == 201, body
        return body["connToken"]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.service.call(method, path, body, self.token)

    def submit(self, driver: str, token: str, kind: str = "query", **body: Any) -> str:
        status, answer = self.call("POST", f"/v1/jobs/{kind}/{driver}", {"token": token, **body})
        assert status == 202, answer
        return answer["jobId"]

    def wait(self, job_id: str, *statuses: str, within: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            status, job = self.call("GET", f"/v1/jobs/{job_id}")
            assert status == 200, job
            if job["status"] in statuses:
                return job
            assert time.monotonic() < deadline, (job, self.logs())
            time.sleep(0.05)

    def holder(self, job_id: str) -> int:
        """The pid of the process whose lease the job runs under (from the metadata database)."""
        with contextlib.closing(sqlite3.connect(self.data_dir / "data" / "dbconnector.db")) as conn:
            query = "SELECT lease_owner FROM jobs WHERE id = ?"
            (owner,) = conn.execute(query, (job_id,)).fetchone()
        return int(owner.split(":")[1])

    def logs(self) -> str:
        return "\n".join(worker.log_path.read_text()[-1500:] for worker in self.workers)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.service.stop()
        queue = self.settings["DBCONNECTOR_JOB_QUEUE"]
        for key in self.redis.scan_iter(f"rq:*{queue}*"):
            self.redis.delete(key)
        self.redis.close()


@pytest.fixture
def cluster(tmp_path: Path, redis_url: str) -> Iterator[Cluster]:
    """redis_url checks the server is there (failing in CI when not); the queue is on its own
    database and of this test's own name."""
    made = Cluster(tmp_path, JOBS_REDIS_URL)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def running_cluster(cluster: Cluster) -> Cluster:
    cluster.start_workers(2)
    return cluster


def _pages(cluster: Cluster, job_id: str) -> list[int]:
    numbers: list[int] = []
    path: str | None = f"/v1/jobs/{job_id}/results/0?limit=1000"
    while path:
        status, page = cluster.call("GET", path)
        assert status == 200, page
        numbers += [int(row["n"]) for row in page["rows"]]
        path = page["next"]
    return numbers


def test_jobs_run_on_the_workers_and_are_read_page_by_page(running_cluster, backend):  # noqa: F811
    token = running_cluster.connection(backend.connection)
    counted = running_cluster.submit(
        backend.name, token, statement=COUNTED.get(backend.name, RECURSIVE)
    )
    selected = running_cluster.submit(backend.name, token, "select", table="testTable")
    job = running_cluster.wait(counted, "succeeded", "failed", "cancelled")
    assert (job["status"], job["rows"]) == ("succeeded", 2500)
    assert _pages(running_cluster, counted) == list(range(1, 2501))
    assert running_cluster.wait(selected, "succeeded", "failed")["rows"] == 8
    status, page = running_cluster.call("GET", f"/v1/jobs/{selected}/results/0")
    assert status == 200 and [row["ID"] for row in page["rows"]] == list(range(1, 9))


def test_a_cancel_taken_by_the_api_stops_the_statement_on_the_worker(running_cluster, backend):  # noqa: F811
    marker = f"dbc-rq-cancel-{uuid.uuid4().hex[:8]}"
    token = running_cluster.connection(backend.connection)
    table, name = backend.ident("testTable"), backend.ident("Name")
    statement = f"INSERT INTO {table} ({name}) VALUES ('never kept'); {_slow(backend, marker)}"
    job_id = running_cluster.submit(backend.name, token, statement=statement)
    running_cluster.wait(job_id, "running")
    assert running_cluster.holder(job_id) in [worker.pid for worker in running_cluster.workers]
    deadline = time.monotonic() + 20
    while backend.name != "sqlite" and not _running(backend, marker):
        assert time.monotonic() < deadline, "the statement never showed at the database"
        time.sleep(0.05)
    asked = time.monotonic()
    assert running_cluster.call("POST", f"/v1/jobs/{job_id}/cancel") == (
        200,
        {"status": "cancelled"},
    )
    job = running_cluster.wait(job_id, "cancelled", "failed", "succeeded")
    took = time.monotonic() - asked
    assert (job["status"], job["error"]) == ("cancelled", None)
    assert not _running(backend, marker)  # gone at the database (pg_stat_activity, processlist)
    assert backend.count() == 8  # the batch committed nothing
    assert took < 10  # far short of the statement's 60 s (the p95 is in make bench)


def test_a_killed_worker_fails_its_job_interrupted_and_the_other_runs_on(running_cluster, tmp_path):
    target = tmp_path / "target.db"
    sqlite3.connect(target).close()
    token = running_cluster.connection({"driver": "sqlite", "database": str(target)})
    slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    job_id = running_cluster.submit("sqlite", token, statement=slow)
    running_cluster.wait(job_id, "running")
    holder = running_cluster.holder(job_id)
    dead = next(worker for worker in running_cluster.workers if worker.pid == holder)
    dead.kill()
    job = running_cluster.wait(job_id, "failed", "succeeded", "cancelled", within=LEASE + SWEEP + 8)
    assert (job["status"], job["error"]) == ("failed", INTERRUPTED)
    follow = running_cluster.submit("sqlite", token, statement="SELECT 1 AS n")
    assert running_cluster.wait(follow, "succeeded", "failed")["status"] == "succeeded"


def test_a_job_whose_rq_entry_was_lost_still_runs(cluster):
    job_id = cluster.submit("sqlite", _demo_token(), "select", table="testTable")
    queue_key = f"rq:queue:{cluster.settings['DBCONNECTOR_JOB_QUEUE']}"
    assert cluster.redis.lrange(queue_key, 0, -1) == [job_id.encode()]
    cluster.redis.delete(queue_key, f"rq:job:{job_id}")  # Redis restarted with nothing kept
    cluster.start_workers(1)
    job = cluster.wait(job_id, "succeeded", "failed", within=LEASE + SWEEP + 15)
    assert (job["status"], job["rows"]) == ("succeeded", 8)


def test_the_api_instance_runs_no_job_itself(cluster):
    job_id = cluster.submit("sqlite", _demo_token(), "select", table="testTable")
    time.sleep(1.5)  # no worker process yet: nothing may pick the job up
    status, job = cluster.call("GET", f"/v1/jobs/{job_id}")
    assert (status, job["status"]) == (200, "queued")
    cluster.start_workers(1)
    assert cluster.wait(job_id, "succeeded", "failed")["status"] == "succeeded"


def _demo_token() -> str:
    from dbconnector.store.seed import DEMO_TOKEN

    return DEMO_TOKEN
