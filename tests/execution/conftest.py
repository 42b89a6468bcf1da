"""Fixtures for the async-job tests: an app whose job workers the test drives step by step, a
SQLite target with the specification's testTable, and helpers to submit and wait for jobs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from dbconnector.store.seed import build_demo_target
from tests.support.app import Caller, Env

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
        """Run every queued job in this thread; their final statuses."""
        ended = []
        while (status := self.workers.run_one()) is not None:
            ended.append(status)
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


@pytest.fixture
def jobs(make_jobs) -> Jobs:  # type: ignore[no-untyped-def]
    return make_jobs()
