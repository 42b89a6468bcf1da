"""`dbconnector worker`: a dedicated job worker process, taking job ids from RQ (broker.py).

It uses RQ's SimpleWorker, which runs each job in this process, not the forking Worker: a
cancel must reach the DB-API connection the statement runs on, and here that connection is held
by this process's cancel registry, watched by the same watcher thread as the embedded engine's
(worker.py), with its pools kept from job to job. A forked work horse would hold the connection
where the watcher cannot reach it, and killing the horse (RQ's stop-job) leaves the statement
running on the database server. One process runs one job at a time: run as many as needed.
"""

from __future__ import annotations

from .worker import JobWorkers

_workers: JobWorkers | None = None


def perform(job_id: str) -> str | None:
    """RQ's entry point: run the job if its row is still queued (else it was cancelled or
    another process has it); its final status."""
    assert _workers is not None, "perform runs only inside `dbconnector worker`"
    return _workers.run_claimed(job_id)


def work(workers: JobWorkers, burst: bool = False) -> None:
    """Take jobs from the queue until stopped (SIGTERM/SIGINT), or until it is empty (burst)."""
    from rq import SimpleWorker

    global _workers
    broker = workers.broker
    assert broker is not None
    _workers = workers
    try:
        queue = broker.worker_queue()
        SimpleWorker([queue], connection=queue.connection).work(
            burst=burst, with_scheduler=False, logging_level="WARNING"
        )
    finally:
        _workers = None


def serve(workers: JobWorkers, burst: bool = False) -> None:
    """Work with the app's job engine (built by `dbconnector worker` from serve's settings),
    its watcher running, until stopped."""
    assert workers.broker is not None
    if not workers.threads:  # its watcher cancels, renews and sweeps for the jobs it runs
        workers.start(0)
    try:
        work(workers, burst)
    finally:
        workers.stop()
