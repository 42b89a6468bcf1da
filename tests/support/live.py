"""Reaching the live servers the live tests need. With CI=true a missing server fails the test."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

POSTGRES_URL = os.environ.get(
    "DBCONNECTOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MYSQL_URL = os.environ.get("DBCONNECTOR_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/")
REDIS_URL = os.environ.get("DBCONNECTOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# The job tests' RQ queues: another database of the same server, since the flood tests empty
# theirs (each job test still takes a queue name of its own).
JOBS_REDIS_URL = os.environ.get(
    "DBCONNECTOR_TEST_JOBS_REDIS_URL", REDIS_URL.rsplit("/", 1)[0] + "/14"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require(name: str, probe: Callable[[], Any]) -> Any:
    """Run `probe`; if the server is not there, skip locally and fail in CI."""
    try:
        return probe()
    except Exception as exc:
        message = f"{name} is not reachable ({type(exc).__name__}: {exc})"
        if in_ci():
            pytest.fail(f"{message}; CI needs it (see .ci/run)", pytrace=False)
        pytest.skip(message)
