"""Prometheus metrics, served at GET /admin/metrics.

Under gunicorn every worker is its own process, so prometheus-client runs in multiprocess mode:
gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR at an empty directory before the workers start,
each worker writes its values there, any worker answers a scrape with the sum of all of them, and
a dead worker's live gauges are dropped. Without that variable (tests, `flask run`) the process's
own registry is used.

Only addresses in DBCONNECTOR_METRICS_ALLOWLIST may read the metrics (by default loopback and
the private ranges a scraper inside the VPC uses); they hold endpoint, status and connection
names, never a value, a token or a credential.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import Engine, event

REQUESTS = Counter("dbc_requests_total", "HTTP requests answered", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "dbc_request_duration_seconds",
    "Time to answer a request (to the first byte of a streamed body)",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ROWS = Counter("dbc_rows_returned_total", "Rows returned by execution calls", ["connection"])
FLOOD = Counter("dbc_flood_refusals_total", "Calls refused by flood control")
POOL_IN_USE = Gauge(
    "dbc_pool_checked_out",
    "Target connections checked out of their pool",
    ["connection"],
    multiprocess_mode="livesum",
)
POOL_OPEN = Gauge(
    "dbc_pool_open",
    "Target connections open (in use or idle in the pool)",
    ["connection"],
    multiprocess_mode="livesum",
)

# Async jobs (execution/jobs/). Counts by status read the shared metadata database at scrape
# time, so every process reports the same numbers: "max" merges them.
JOBS = Gauge(
    "dbc_jobs", "Jobs by status (queued is the queue depth)", ["status"], multiprocess_mode="max"
)
JOB_RUN_SECONDS = Histogram(
    "dbc_job_run_seconds",
    "Time a job ran, from claim to its end",
    ["kind", "status"],
    buckets=(0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400),
)
JOB_BROKER_DEPTH = Gauge(
    "dbc_job_broker_depth",
    "Job ids waiting on the RQ queue (with DBCONNECTOR_JOB_BROKER_URL)",
    multiprocess_mode="max",
)
JOB_ROWS_SPOOLED = Counter(
    "dbc_job_rows_spooled_total", "Rows written into job result pages (its rate: spool rate)"
)


def job_counts(by_status: dict[str, int], statuses: tuple[str, ...]) -> None:
    for status in statuses:
        JOBS.labels(status).set(by_status.get(status, 0))


def exposition() -> tuple[bytes, str]:
    """The Prometheus text of every worker's metrics, and its content type."""
    return generate_latest(_registry()), CONTENT_TYPE_LATEST


def _registry() -> Any:
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        from prometheus_client import REGISTRY

        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "HEAD"})
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _series(endpoint: str, method: str, status: int) -> tuple[Any, Any]:
    # labels() takes a lock and builds a key on every call; the children never change.
    series = _children.get((endpoint, method, status))
    if series is None:
        series = (REQUESTS.labels(endpoint, method, str(status)), LATENCY.labels(endpoint))
        _children[(endpoint, method, status)] = series
    return series


def count(
    endpoint: str | None,
    method: str,
    status: int,
    seconds: float | None,
    rows: int | None,
    connection: str | None,
) -> None:
    """One answered request: its route (None when no route matched), status and duration, and
    the rows it returned from `connection`."""
    method = method if method in _METHODS else "OTHER"  # bounded label values
    requests, latency = _series(endpoint or "unmatched", method, status)
    requests.inc()
    if seconds is not None:
        latency.observe(seconds)
    if rows:
        ROWS.labels(connection or "").inc(rows)


def count_flood_refusal() -> None:
    FLOOD.inc()


def watch_pool(engine: Engine, connection: str) -> None:
    """Keep the pool gauges of one target connection up to date."""
    in_use, opened = POOL_IN_USE.labels(connection), POOL_OPEN.labels(connection)
    event.listen(engine, "checkout", lambda *_: in_use.inc())
    event.listen(engine, "checkin", lambda *_: in_use.dec())
    event.listen(engine, "connect", lambda *_: opened.inc())
    event.listen(engine, "close", lambda *_: opened.dec())
    event.listen(engine, "close_detached", lambda *_: opened.dec())
