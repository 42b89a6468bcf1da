"""Checking a pooled target connection before use, but only once it has been idle a while.

SQLAlchemy's pool_pre_ping pings on every checkout: one extra round trip per call, and on
PostgreSQL a query the server must also run, the largest single cost of a one-row select after
the HTTP stack (bench/README.md). A connection checked in a moment ago is as alive as a ping
would show, so only connections idle for PING_AFTER_IDLE seconds are pinged; restarts, failovers
and idle timeouts strike those. A connection that dies while in steady use is still handled:
SQLAlchemy recognises the disconnect error, invalidates the pool, and the next checkout connects
afresh.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

PING_AFTER_IDLE = 1.0
_IDLE_SINCE = "dbc_idle_since"


def ping_when_idle(engine: Engine, after: float = PING_AFTER_IDLE) -> None:
    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < after:
            return  # new, or back from use a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("pooled connection failed its ping") from exc
        if alive is False:
            raise DisconnectionError("pooled connection failed its ping")
