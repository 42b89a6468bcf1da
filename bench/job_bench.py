"""The benchmark's async-job scenarios (issue 13): a 1,000,000-row job spooled, pages read back,
cancels timed at the database, and submits. Each is measured beside the synchronous call that does
the same work; run.py's Bench runs them and keeps their numbers, this module does the job side.
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import targets as target_setup
from served import PeakRss, Server, fetch_json
from targets import Target

SCENARIOS = ("job_spool_1m", "job_page", "job_cancel", "job_submit", "job_submit_rq")
# Where job_submit_rq's API instance enqueues (a database of its own, a queue per run).
BROKER_URL = os.environ.get("BENCH_JOB_BROKER_URL", "redis://127.0.0.1:6379/12")
FINISHED = ("succeeded", "failed", "cancelled", "expired")
PAGE_CONNECTIONS = 8
SUBMIT_CONNECTIONS = 32
CANCEL_SAMPLES = 20  # per database; --quick takes 5
POLL = 0.005  # seconds between looks at the database or the job while timing
# The targets the issue holds the job scenarios to.
SPOOL_VS_STREAM = 0.5
SPOOL_RSS_MB = 50
PAGE_VS_SELECT = 1.0
CANCEL_P95_MS = 1000
SUBMIT_VS_SELECT_PK = 0.5
# What the bench's service allows a job: the spool's million rows and every submit of job_submit
# (its jobs are queued faster than the workers run them), each on any free worker thread (its one
# user would otherwise run DBCONNECTOR_JOB_MAX_RUNNING at a time, as before that cap existed).
JOB_SETTINGS = {
    "DBCONNECTOR_JOB_MAX_ROWS": str(2 * target_setup.STREAM_ROWS),
    "DBCONNECTOR_JOB_MAX_RESULT_BYTES": str(1024**3),
    "DBCONNECTOR_JOB_MAX_ACTIVE": str(10**6),
    "DBCONNECTOR_JOB_MAX_RUNNING": str(10**6),
}
# A statement that runs until it is cancelled (or its job's timeout), by driver.
LONG_STATEMENTS = {
    "postgresql": "SELECT pg_sleep(60)",
    "mysql": "SELECT SLEEP(60)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)"
    " SELECT count(*) FROM c",
}
# How many sessions run that statement, at the target's own server (SQLite has none to ask).
RUNNING_AT = {
    "postgresql": "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'active'"
    " AND query LIKE 'SELECT pg_sleep(60)%%'",
    "mysql": "SELECT count(*) FROM information_schema.processlist WHERE db = %s"
    " AND info LIKE 'SELECT SLEEP(60)%%'",
}


def job_call(server: Server, method: str, path: str, token: str, body: Any = None) -> Any:
    """A jobs call whose answer must not be an {"error": ...} (a job's status has "error": null)."""
    answer = fetch_json(server, method, path, body, token)
    if isinstance(answer, dict) and answer.get("error") and "jobId" not in answer:
        raise RuntimeError(f"{method} {path}: {answer['error']}")
    return answer


def submit(server: Server, token: str, kind: str, driver: str, body: dict[str, Any]) -> str:
    return job_call(server, "POST", f"/v1/jobs/{kind}/{driver}", token, body)["jobId"]


def wait_until(
    server: Server, token: str, job_id: str, statuses: tuple[str, ...], within: float = 600
) -> dict[str, Any]:
    """The job's status once it is one of `statuses` (polled every POLL seconds)."""
    deadline = time.monotonic() + within
    while True:
        job = job_call(server, "GET", f"/v1/jobs/{job_id}", token)
        if job["status"] in statuses:
            return job
        if job["status"] in FINISHED or time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} is {job['status']}, not {'/'.join(statuses)}")
        time.sleep(POLL)


def spool_once(server: Server, target: Target, conn_token: str, token: str) -> dict[str, Any]:
    """job_spool_1m once: the million-row select as a job, from the submit until it reads
    succeeded, while the workers' RSS is sampled; the job is deleted afterwards."""
    body = {"token": conn_token, "table": "million"}
    with PeakRss(server.workers()) as rss:
        started = time.perf_counter()
        job_id = submit(server, token, "select", target.name, body)
        job = wait_until(server, token, job_id, FINISHED)
        seconds = time.perf_counter() - started
    job_call(server, "DELETE", f"/v1/jobs/{job_id}", token)
    ok = job["status"] == "succeeded" and job["rows"] == target_setup.STREAM_ROWS
    return {
        "rows": job["rows"],
        "seconds": round(seconds, 2),
        "rows_per_s": round(job["rows"] / seconds),
        "rss_growth_mb": round(rss.growth_mb, 1),
        "errors": 0 if ok else 1,
    }


def finished_page_job(server: Server, target: Target, conn_token: str, token: str) -> str:
    """job_page's job: the whole `bench` table in id order, run to succeeded."""
    body = {
        "token": conn_token,
        "table": "bench",
        "sort": ["id"],
        "limit": target_setup.ROWS,
    }
    job_id = submit(server, token, "select", target.name, body)
    job = wait_until(server, token, job_id, FINISHED)
    if job["status"] != "succeeded" or job["rows"] != target_setup.ROWS:
        raise RuntimeError(f"job_page's job ended {job['status']} with {job['rows']} rows")
    return job_id


def queue_drained(server: Server, token: str, within: float = 600) -> float:
    """Wait until the user has no job queued or running; the seconds it took."""
    started = time.monotonic()
    while any(
        job_call(server, "GET", f"/v1/jobs?status={status}&limit=1", token)
        for status in ("queued", "running")
    ):
        if time.monotonic() - started > within:
            raise RuntimeError(f"the job queue did not drain in {within} s")
        time.sleep(0.2)
    return round(time.monotonic() - started, 1)


# --- job_cancel ----------------------------------------------------------------------------------


def statement_running(target: Target, conn: Any) -> bool:
    """Whether the target's server still runs the long statement (SQLite: never asked)."""
    cursor = conn.cursor()
    cursor.execute(RUNNING_AT[target.name], (target.spec["database"],))
    return cursor.fetchone()[0] > 0


def cancel_once(
    server: Server, target: Target, conn_token: str, token: str, conn: Any
) -> dict[str, Any]:
    """Submit the long statement, wait until it runs at the database (SQLite: until the job runs,
    then 0.2 s), cancel it, and time until the database no longer runs it (SQLite: until the job
    reads cancelled, which it does once interrupt() has returned)."""
    body = {"token": conn_token, "statement": LONG_STATEMENTS[target.name]}
    job_id = submit(server, token, "query", target.name, {**body, "timeout": 120})
    wait_until(server, token, job_id, ("running",), within=60)
    if conn is None:
        time.sleep(0.2)
    else:
        deadline = time.monotonic() + 60
        while not statement_running(target, conn):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{target.name}: the long statement never showed as running")
            time.sleep(POLL)
    started = time.perf_counter()
    job_call(server, "POST", f"/v1/jobs/{job_id}/cancel", token, {})
    if conn is not None:
        while statement_running(target, conn):
            if time.perf_counter() - started > 120:
                raise RuntimeError(f"{target.name}: the cancelled statement still runs")
            time.sleep(POLL)
    at_database = time.perf_counter() - started
    job = wait_until(server, token, job_id, FINISHED, within=120)
    ended = time.perf_counter() - started
    return {
        "ms": (at_database if conn is not None else ended) * 1000,
        "job_ms": ended * 1000,
        "errors": 0 if job["status"] == "cancelled" else 1,
    }


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share 0.95 is p95) of a non-empty list."""
    ranked = sorted(values)
    return ranked[max(0, math.ceil(share * len(ranked) - 1e-9) - 1)]


def cancel_summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    times = [s["ms"] for s in samples]
    job_times = [s["job_ms"] for s in samples]
    return {
        "samples": len(samples),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "max_ms": round(max(times), 1),
        "job_cancelled_p95_ms": round(percentile(job_times, 0.95), 1),
        "errors": sum(s["errors"] for s in samples),
    }


def cancels(
    server: Server, target: Target, conn_token: str, token: str, samples: int
) -> dict[str, Any]:
    """job_cancel on one target: `samples` cancels, one after another, summarized."""
    conn = target.connect() if target.name in RUNNING_AT else None
    try:
        return cancel_summary(
            [cancel_once(server, target, conn_token, token, conn) for _ in range(samples)]
        )
    finally:
        if conn is not None:
            conn.close()


# --- targets and table -------------------------------------------------------------------------


def checks(backend: str, scenario: str, outcome: dict[str, Any]) -> list[tuple[str, bool, Any]]:
    """(target, met, value) for one job scenario's outcome."""
    if scenario == "job_spool_1m":
        ratio = outcome.get("job_vs_stream_1m") or 0
        return [
            (f"{backend} job_spool_1m zero errors", outcome["errors"] == 0, outcome["errors"]),
            (
                f"{backend} job_spool_1m >= {SPOOL_VS_STREAM} x stream_1m",
                ratio >= SPOOL_VS_STREAM,
                outcome.get("job_vs_stream_1m"),
            ),
            (
                f"{backend} job_spool_1m worker RSS growth < {SPOOL_RSS_MB} MB",
                outcome["rss_growth_mb"] < SPOOL_RSS_MB,
                outcome["rss_growth_mb"],
            ),
        ]
    if scenario == "job_cancel":
        return [
            (
                f"{backend} job_cancel p95 < {CANCEL_P95_MS} ms",
                outcome["p95_ms"] < CANCEL_P95_MS,
                outcome["p95_ms"],
            ),
            (
                f"{backend} job_cancel every job ended cancelled",
                outcome["errors"] == 0,
                outcome["errors"],
            ),
        ]
    floor, key = (
        (PAGE_VS_SELECT, "job_vs_select_1000")
        if scenario == "job_page"
        else (SUBMIT_VS_SELECT_PK, "job_vs_select_pk")
    )
    found = []
    for concurrency, measured in outcome.items():
        service = measured["service"]
        found += [
            (
                f"{backend} {scenario} c={concurrency} zero errors",
                service["errors"] == 0,
                service["errors"],
            ),
            (
                f"{backend} {scenario} c={concurrency} >= {floor} x {key.removeprefix('job_vs_')}",
                (measured.get(key) or 0) >= floor,
                measured.get(key),
            ),
        ]
    return found


def lines(backend: str, scenario: str, outcome: dict[str, Any]) -> list[str]:
    """The table's lines for one job scenario."""
    lead = f"{backend:10} {scenario:12}"
    if scenario == "job_spool_1m":
        stream = outcome["stream_1m"]
        return [
            f"{lead} {'1':>3} {outcome['rows_per_s']:>8,} rows/s as a job, submit to succeeded in"
            f" {outcome['seconds']} s, worker RSS +{outcome['rss_growth_mb']} MB,"
            f" errors {outcome['errors']}",
            f"{'':27} {stream['rows_per_s']:>8,} rows/s stream_1m in turns"
            f" (job / stream_1m = {outcome['job_vs_stream_1m']})",
        ]
    if scenario == "job_cancel":
        return [
            f"{lead} {'1':>3} cancel to statement gone: p50 {outcome['p50_ms']} ms, p95"
            f" {outcome['p95_ms']} ms, max {outcome['max_ms']} ms over {outcome['samples']}"
            f" (job cancelled p95 {outcome['job_cancelled_p95_ms']} ms), errors {outcome['errors']}"
        ]
    reference, key = (
        ("/select limit 1000", "job_vs_select_1000")
        if scenario == "job_page"
        else ("select_pk", "job_vs_select_pk")
    )
    found = []
    for concurrency, measured in outcome.items():
        s, r = measured["service"], measured["reference"]
        found.append(
            f"{lead} {concurrency:>3} {s['rps']:>8.0f} {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f}"
            f" {s['errors']:>4}   {r['rps']:.0f} req/s {reference} in turns (p50 {r['p50_ms']:.2f}"
            f" ms, errors {r['errors']}; job / it = {measured[key]})"
        )
    return found


def broker_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(BROKER_URL, socket_timeout=2).ping())
    except Exception as exc:
        print(f"Redis not reachable at {BROKER_URL}, job_submit_rq skipped: {exc}")
        return False


def burst(env: dict[str, str], within: float = 900) -> float:
    """Run every job queued on the broker with one `dbconnector worker --burst`; its seconds."""
    started = time.monotonic()
    worker = Path(sys.executable).parent / "dbconnector"
    subprocess.run(
        [str(worker), "worker", "--burst"],
        env=env,
        check=True,
        timeout=within,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return round(time.monotonic() - started, 2)
