"""The scale-out transport: job ids on an RQ queue in Redis (DBCONNECTOR_JOB_BROKER_URL).

RQ only carries a job's id to a `dbconnector worker` process; the job's row in the metadata
database stays the one truth (status, sealed body, cancel flag, lease, pages), so a lost or
doubled RQ entry changes nothing: the worker claims the row with the same compare-and-set as the
embedded engine, and the sweeper enqueues again a row left queued whose entry is gone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.job import Job, JobStatus

from ...errors import ApiError

log = logging.getLogger(__name__)

PERFORM = "dbconnector.execution.jobs.dedicated.perform"
# An entry in one of these states will not run (again): its row, still queued, needs a new one.
_DEAD = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


class BrokerDown(ApiError):
    status = 503

    def __init__(self) -> None:
        super().__init__("The job queue is unreachable: try again later")


class Broker:
    def __init__(self, url: str, queue_name: str) -> None:
        self.url, self.queue_name = url, queue_name
        # Calls from the API give up fast; the worker's blocking dequeue has its own connection.
        self.redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self.queue = Queue(queue_name, connection=self.redis)

    def worker_queue(self) -> Queue:
        return Queue(self.queue_name, connection=Redis.from_url(self.url, socket_connect_timeout=5))

    def enqueue(self, job_id: str) -> None:
        """Hand the job to whichever worker process is free; RQ keeps no result (the row does)."""
        try:
            self.queue.enqueue_call(
                PERFORM, args=(job_id,), job_id=job_id, timeout=-1, result_ttl=0, failure_ttl=3600
            )
        except RedisError:
            raise BrokerDown() from None

    def withdraw(self, job_id: str) -> None:
        """Take a cancelled job's entry off the queue (cheap; its row already says cancelled)."""
        try:
            if self.queue.remove(job_id):  # a running job's entry stays: its worker still uses it
                self.redis.delete(Job.key_for(job_id))
        except RedisError:
            log.warning("job queue: could not withdraw a cancelled job's entry")

    def lost(self, job_ids: Sequence[str]) -> list[str]:
        """Of these queued jobs, the ones whose RQ entry is gone or will never run."""
        if not job_ids:
            return []
        entries = Job.fetch_many(list(job_ids), connection=self.redis)
        return [
            job_id
            for job_id, entry in zip(job_ids, entries, strict=True)
            if entry is None or entry.get_status(refresh=False) in _DEAD
        ]

    def depth(self) -> int:
        return self.queue.count
