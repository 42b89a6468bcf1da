"""The per-app services every request uses, kept in `app.extensions[EXTENSION]`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine

from .auth.clientip import client_address
from .auth.limiter import Flood
from .config import Settings
from .drivers.pools import PoolRegistry
from .lib.ttl_cache import TTLCache
from .store import audit as audit_store
from .store.connections import ConnectionStore
from .store.db import utcnow
from .store.epoch import SharedEpoch
from .store.secrets import SecretBox
from .store.usage import UsageRecorder
from .telemetry.requestlog import audit

EXTENSION = "dbconnector"


class JobEngine(Protocol):
    """The job engine execution/jobs/ gives the app (worker.JobWorkers): named by what it does,
    since execution/ imports this module and not the other way round."""

    queue: Any
    broker: Any
    threads: list[Any]

    def start(self, count: int) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...

    def submitted(self, job_id: str) -> None: ...

    def withdrawn(self, job_id: str) -> None: ...


@dataclass
class Services:
    settings: Settings
    engine: Engine
    flood: Flood
    box: SecretBox
    connections: ConnectionStore
    # user id -> Principal (or None for a deleted user)
    principals: TTLCache[Any] = field(default_factory=lambda: TTLCache(5.0))
    # (user id, connToken) -> the resolved target, for execution calls
    targets: TTLCache[Any] = field(default_factory=lambda: TTLCache(5.0))
    pools: PoolRegistry | None = None
    usage: UsageRecorder | None = None
    jobs: JobEngine | None = None
    # Shared by the instance's workers; None keeps invalidations in this process.
    epoch: SharedEpoch | None = None
    _seen: bytes = b""

    def catch_up(self) -> None:
        """Drop this process's cached state if another worker changed some since the last call."""
        if self.epoch is not None:
            now = self.epoch.read()
            if now != self._seen:
                self._seen = now
                self.principals.invalidate()
                self.targets.invalidate()

    def forget_user(self, user_id: int) -> None:
        """After a committed change to the user: here at once, in the other workers on their
        next call."""
        self.principals.invalidate(lambda key: key == user_id)
        self.targets.invalidate(lambda key: isinstance(key, tuple) and key[0] == user_id)
        self._tell_workers()

    def forget_connection(self, token: str) -> None:
        self.targets.invalidate(lambda key: isinstance(key, tuple) and key[1] == token)
        if self.pools is not None:
            self.pools.discard(token)
        self._tell_workers()

    def changed(
        self, action: str, *, user_id: int | None = None, token: str | None = None, **details: Any
    ) -> None:
        """After an admin change has committed: forget what it made stale (the user's cached
        standing and grants, the connection's record and pool), then write its audit line
        (ids and field names, never values). Every admin change ends here, so neither step
        can be forgotten."""
        if user_id is not None:
            self.forget_user(user_id)
        if token is not None:
            self.forget_connection(token)
        self.audit(action, **({"user_id": user_id} if user_id is not None else {}), **details)

    def audit(self, action: str, outcome: str = audit_store.OK, **fields: Any) -> None:
        """The audit line of an admin action: logged, and kept in the metadata database for the
        console's audit page (its own transaction, after the change committed)."""
        line = audit(action, outcome=outcome, **fields)
        audit_store.add(
            self.engine,
            {
                "at": utcnow(),
                "action": action,
                "actor_id": line["actor_id"],
                "via": line["via"],
                "address": client_address(),
                "outcome": outcome,
                "request_id": line["request_id"],
                "details": fields,
            },
        )

    def _tell_workers(self) -> None:
        if self.epoch is not None:
            self.epoch.bump()
            self._seen = self.epoch.read()  # this process is already up to date
