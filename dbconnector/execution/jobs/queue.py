"""The embedded queue: jobs wait in the metadata database, and a process claims one with a lease.

A claim is a compare-and-set UPDATE of a queued row (store/jobs.py), so two processes never run
one job. The holder renews its lease while the job runs; a lease that runs out means the process
died, and the sweeper marks the job failed ("interrupted") rather than leave it running forever.
The clock is injectable so tests move time instead of waiting for it.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine

from ...store import jobs as job_store
from ...store.db import utcnow


class Queue:
    def __init__(
        self,
        engine: Engine,
        lease_seconds: float,
        clock: Callable[[], dt.datetime] = utcnow,
        per_user: int = 0,
    ) -> None:
        self.engine, self.clock = engine, clock
        self.per_user = per_user  # the most jobs one user may have running (0: no cap)
        self.lease = dt.timedelta(seconds=lease_seconds)
        # Unique per process and start, never reused: a restarted process holds no old lease.
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"

    def claim(self) -> Any:
        now = self.clock()
        return job_store.claim(self.engine, self.owner, now, now + self.lease, self.per_user)

    def claim_one(self, job_id: str) -> Any:
        now = self.clock()
        return job_store.claim_one(self.engine, job_id, self.owner, now, now + self.lease)

    def begin_commit(self, job_id: str) -> bool:
        return job_store.begin_commit(self.engine, job_id, self.owner)

    def renew(self, job_ids: Sequence[str]) -> None:
        job_store.renew(self.engine, self.owner, job_ids, self.clock() + self.lease)

    def finish(self, job_id: str, status: str, **values: Any) -> str:
        return job_store.finish(self.engine, job_id, self.owner, status, self.clock(), **values)

    def sweep(self) -> tuple[int, int]:
        return job_store.sweep(self.engine, self.clock())
