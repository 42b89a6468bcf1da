"""Fixtures for the async-job tests: an app whose job workers the test drives step by step, a
SQLite target with the specification's testTable, and helpers to submit and wait for jobs."""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis

from dbconnector.drivers import driver_named
from dbconnector.drivers.base import Target
from dbconnector.drivers.pools import PoolRegistry
from dbconnector.execution.jobs import dedicated
from dbconnector.store.seed import build_demo_target
from tests.support.app import Caller, Env, make_settings
from tests.support.live import JOBS_REDIS_URL, require

WAIT_SECONDS = 20.0


class Jobs:
    """One app and one target connection, with job helpers; callers default to the OWNER."""

    def __init__(self, env: Env, token: str, driver: str = "sqlite") -> None:
        self.env, self.token, self.driver = env, token, driver

    @property
    def workers(self):  # type: ignore[no-untyped-def]
        return self.env.services.jobs

    def submit(self, kind: str, caller: Caller | None = None, **body: Any) -> str:
        response = self.post(kind, caller, **body)
        assert response.status_code == 202, response.get_json()
        answer = response.get_json()
        assert answer["status"] == "queued"
        assert response.headers["Location"] == f"/v1/jobs/{answer['jobId']}"
        return answer["jobId"]

    def post(self, kind: str, caller: Caller | None = None, **body: Any):  # type: ignore[no-untyped-def]
        caller = caller or self.env.owner
        return caller.post(f"/v1/jobs/{kind}/{self.driver}", {"token": self.token, **body})

    def status(self, job_id: str, caller: Caller | None = None) -> dict[str, Any]:
        response = (caller or self.env.owner).get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def run_all(self) -> list[str]:
        """Run every queued job in this thread (through RQ with a broker); their final statuses."""
        ended: list[str] = []
        workers = self.workers
        if workers.broker is None:
            while (status := workers.run_one()) is not None:
                ended.append(status)
            return ended
        claimed = workers.run_claimed

        def noted(job_id: str) -> str | None:
            status = claimed(job_id)
            if status is not None:
                ended.append(status)
            return status

        workers.run_claimed = noted
        try:
            dedicated.work(workers, burst=True)
        finally:
            del workers.run_claimed
        return ended

    def wait_for(self, job_id: str, *statuses: str) -> dict[str, Any]:
        """Poll (bounded) until the job, run by worker threads, reaches one of `statuses`."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            job = self.status(job_id)
            if job["status"] in statuses:
                return job
            assert time.monotonic() < deadline, job
            time.sleep(0.05)


@pytest.fixture
def scratch(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The pools of an app's settings, and a SQLite target holding an empty table t (id, v)."""
    path = tmp_path / "scratch.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    pools = PoolRegistry(make_settings(tmp_path / "data"))
    target = Target(1, "tok", driver_named("sqlite"), {"database": str(path)}, "f", 3.0, 10.0, "s")
    yield pools, target, path
    pools.dispose_all()


@pytest.fixture
def demo_target(tmp_path: Path) -> Path:
    path = tmp_path / "target" / "demo.db"
    build_demo_target(path)
    return path


@pytest.fixture
def make_jobs(make_env, demo_target):  # type: ignore[no-untyped-def]
    """make_jobs(**settings): a Jobs on a fresh app (job worker threads only when asked); with
    `token`, on a metadata database that already has that connection."""
    started: list[Env] = []

    def factory(token: str | None = None, **overrides: Any) -> Jobs:
        env = make_env(**overrides)
        started.append(env)
        if token is None:
            token = env.connection({"driver": "sqlite", "database": str(demo_target)}, name="demo")
        return Jobs(env, token)

    yield factory
    for env in started:
        env.services.jobs.stop()
        broker = env.services.jobs.broker
        if broker is not None:  # this test's queue and entries go (when Redis was there)
            with contextlib.suppress(redis.RedisError):
                broker.queue.delete(delete_jobs=True)


def job_broker() -> dict[str, str]:
    """Settings for the RQ engine on the test Redis: its own database (the flood tests flush
    theirs) and a queue name of this test's own, so parallel runs never share a queue."""

    def probe() -> dict[str, str]:
        client = redis.Redis.from_url(JOBS_REDIS_URL, socket_connect_timeout=2)
        client.ping()
        client.close()
        return {"job_broker_url": JOBS_REDIS_URL, "job_queue": f"dbc-test-{uuid.uuid4().hex}"}

    return require("Redis", probe)


@pytest.fixture(params=["embedded", "rq"])
def jobs(request, make_jobs) -> Jobs:  # type: ignore[no-untyped-def]
    """The job engine the test drives: the embedded one, and RQ on the local Redis."""
    return make_jobs(**(job_broker() if request.param == "rq" else {}))
