"""A job's target: the connection as resolved, on a pool of its own whose statement timeout is
the job's (the timeout is set when a connection is made, so a pool per (connection, timeout))."""

from __future__ import annotations

import dataclasses

from ...drivers.base import Target


def job_target(target: Target, timeout: int) -> Target:
    return dataclasses.replace(
        target,
        token=f"{target.token}/{timeout}",
        statement_timeout=float(timeout),
        fingerprint=f"{target.fingerprint}|job{timeout}",
    )
