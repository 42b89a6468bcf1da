"""The embedded job engine: DBCONNECTOR_JOB_WORKERS threads per service process, and a watcher.

Workers claim queued jobs from the metadata database (queue.py) and run them (runner.py). The
watcher renews the leases of this process's running jobs, looks for cancels asked for in their
rows (by whichever instance took the call) and cancels those at the database (cancel.py), and
sweeps: expired results and jobs whose process died (store/jobs.sweep). A submit in this process
wakes a worker at once; other instances' jobs are found by polling.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from redis.exceptions import RedisError

from ...app_state import Services
from ...drivers.pools import PoolRegistry
from ...store import jobs as job_store
from ...store.db import read, utcnow
from .broker import Broker, BrokerDown
from .cancel import Registry
from .queue import Queue
from .runner import Context, run_job

log = logging.getLogger(__name__)

IDLE_POLL = 1.0  # seconds between looks at the queue when nothing woke a worker
CANCEL_POLL = 0.2  # seconds between looks at the cancel flags of running jobs
SWEEP_EVERY = 5.0


class JobWorkers:
    def __init__(self, svc: Services, clock: Callable[[], dt.datetime] = utcnow) -> None:
        settings = svc.settings
        self.svc = svc
        self.queue = Queue(svc.engine, settings.job_lease_seconds, clock, settings.job_max_running)
        self.registry = Registry()
        self.context = Context(svc, self.queue, PoolRegistry(settings))
        # With a broker, jobs travel on RQ to `dbconnector worker` processes (dedicated.py).
        self.broker = (
            Broker(settings.job_broker_url, settings.job_queue) if settings.job_broker_url else None
        )
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self._renewed = self._swept = 0.0
        self._unreachable = False

    def start(self, count: int) -> None:
        for number in range(count):
            self._spawn(self._work, f"dbc-job-worker-{number}")
        self._spawn(self._watch, "dbc-job-watcher")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Take no new job; wait for running ones up to `timeout`, then close the pools. A job
        still running then is failed "interrupted" by another process once its lease runs out."""
        self.stopping.set()
        self.wake.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.threads = [thread for thread in self.threads if thread.is_alive()]
        self.context.pools.dispose_all()

    # --- one step each, so tests can drive them without threads --------------------------------

    def submitted(self, job_id: str) -> None:
        """A job was queued: wake a worker thread here, or hand it to RQ (BrokerDown if not)."""
        if self.broker is None:
            self.wake.set()
        else:
            self.broker.enqueue(job_id)

    def withdrawn(self, job_id: str) -> None:
        """A job was cancelled or deleted: its RQ entry, if any, goes too."""
        if self.broker is not None:
            self.broker.withdraw(job_id)

    def run_one(self) -> str | None:
        """Claim and run one queued job; its final status, or None when the queue was empty."""
        return self._run(self.queue.claim())

    def run_claimed(self, job_id: str) -> str | None:
        """Run this job if it is still queued (RQ's entry point, dedicated.py)."""
        return self._run(self.queue.claim_one(job_id))

    def _run(self, job: Any) -> str | None:
        if job is None:
            return None
        running = self.registry.add(job.id)
        try:
            return run_job(self.context, job, running)
        finally:
            self.registry.remove(job.id)

    def watch_once(self) -> None:
        running = self.registry.ids()
        for job_id in job_store.cancel_requested(self.svc.engine, running):
            self.registry.cancel(job_id)
        now = time.monotonic()
        if running and now - self._renewed >= self.queue.lease.total_seconds() / 3:
            self.queue.renew(running)
            self._renewed = now
        if now - self._swept >= SWEEP_EVERY:
            self.queue.sweep()
            self.requeue_lost()
            self._swept = now

    def requeue_lost(self) -> list[str]:
        """Enqueue again the jobs queued for over a lease whose RQ entry is gone (Redis keeps
        nothing on disk here) or dead, so a queued job still runs; the ids it enqueued."""
        if self.broker is None:
            return []
        with read(self.svc.engine) as conn:
            waiting = job_store.queued_before(conn, self.queue.clock() - self.queue.lease)
        try:
            lost = self.broker.lost(waiting)
            for job_id in lost:
                self.broker.enqueue(job_id)
        except (RedisError, BrokerDown):  # Redis is away: the next sweep tries again
            log.debug("job queue: Redis did not answer the sweep")
            return []
        if lost:
            log.warning("job queue: %d queued jobs had lost their RQ entry: enqueued", len(lost))
        return lost

    # --- the threads -------------------------------------------------------------------------

    def _work(self) -> None:
        while not self.stopping.is_set():
            ran = self._step(self.run_one)
            if ran is None:
                self.wake.wait(IDLE_POLL)
                self.wake.clear()

    def _watch(self) -> None:
        while not self.stopping.wait(CANCEL_POLL):
            self._step(self.watch_once)

    def _step(self, step: Callable[[], str | None]) -> str | None:
        """One step; while the metadata database is away (a restart, a failover) the threads keep
        trying, and the outage is logged once, in one line, when it starts and when it ends."""
        try:
            done = step()
        except Exception as exc:
            if not self._unreachable:
                self._unreachable = True
                log.warning("job queue: the metadata database failed (%s)", type(exc).__name__)
            return None
        if self._unreachable:
            self._unreachable = False
            log.warning("job queue: the metadata database answers again")
        return done


def init_app(app: Flask) -> JobWorkers:
    """Give the app its job engine, and start its threads when DBCONNECTOR_JOB_WORKERS > 0.
    With a broker the instance only enqueues, and its one thread is the watcher, for the
    sweeps (`dbconnector worker` processes run the jobs, dedicated.py)."""
    svc: Services = app.extensions["dbconnector"]
    workers = JobWorkers(svc)
    svc.jobs = workers
    if svc.settings.job_workers:
        workers.start(0 if workers.broker is not None else svc.settings.job_workers)
    return workers
