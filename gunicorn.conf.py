"""gunicorn settings for DBConnector (read by `dbconnector serve` and `make run`).

gthread workers: each request mostly waits on a database, so threads serve many at once while
the per-process connection pools stay small. Environment: HOST (127.0.0.1), PORT (8000),
DBCONNECTOR_WORKERS (2), DBCONNECTOR_THREADS (4).

Chosen by `make bench` (select_pk at 32 connections, 2 CPUs, one run; bench/README.md): gthread
2x4 served PostgreSQL 1,949 req/s (p99 40 ms) against 1,448 (p99 99 ms) for 2x8, where threads
mostly queue on the GIL; sync workers (4 or 8) and gevent (2 or 4; SQLite blocks its loop, p99
above 1 s) did no better. Workloads dominated by slow statements may want more threads.
"""

import os
import shutil
import tempfile

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("DBCONNECTOR_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("DBCONNECTOR_THREADS", "4"))
# gthread workers heartbeat from their main thread, so a long statement does not trip this;
# statement time is bounded by DBCONNECTOR_STATEMENT_TIMEOUT instead.
timeout = 120
graceful_timeout = 30
keepalive = 5
# The app writes one JSON line per request (dbconnector/requestlog.py); gunicorn's own access
# line would only repeat it. DBCONNECTOR_ACCESS_LOG=1 brings it back.
accesslog = "-" if os.environ.get("DBCONNECTOR_ACCESS_LOG", "") in ("1", "true", "yes") else None
# The request line only: no headers, so no bearer token, ever reaches the log.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus'
errorlog = "-"


# Prometheus multiprocess mode (dbconnector/metrics.py): every worker writes its metrics into
# one directory, emptied at start so a previous run's counts never leak into this one.
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dbc-metrics-")
else:
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """A dead worker's live gauges (pool use) must stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):  # type: ignore[no-untyped-def]
    """Write the connections' buffered Count/LastUse and close the target pools on the way out."""
    app = getattr(worker, "wsgi", None)
    services = getattr(app, "extensions", {}).get("dbconnector") if app else None
    if services is None:
        return
    if services.jobs is not None:
        services.jobs.stop()
    if services.usage is not None:
        services.usage.close()
    if services.pools is not None:
        services.pools.dispose_all()


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """The app is loaded, and what it built lives as long as the worker: move it out of the
    garbage collector's reach. Otherwise every full collection walks those ~80,000 objects and
    holds all the worker's threads meanwhile: 40-47 ms pauses under make bench's heartbeat@32,
    the source of its p99 outliers. Frozen, the longest collection there took 2 ms."""
    import gc

    gc.freeze()
