"""Trying a stored connection for the console's "Test connection": connect with a short timeout
and run one trivial statement, on an engine of its own (the connection's pool is left alone)."""

from __future__ import annotations

import dataclasses

from ..app_state import Services
from ..auth.guard import Principal
from ..drivers.failures import connect_failure
from .resolve import resolve_declared

PROBE_SECONDS = 3.0


def probe(svc: Services, principal: Principal, token: str) -> str | None:
    """None when the target answers; else why not, scrubbed of host, user and password. A
    connection the caller may not use, or that breaks the rules on targets, raises as it would
    for a call."""
    target = resolve_declared(svc, principal, token, None)
    target = dataclasses.replace(
        target,
        connect_timeout=min(PROBE_SECONDS, target.connect_timeout),
        statement_timeout=min(PROBE_SECONDS, target.statement_timeout),
        fingerprint=f"probe|{target.fingerprint}",
    )
    engine = target.driver.make_engine(target, svc.settings)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").all()
    except Exception as exc:  # any failure to reach it is the answer, never a 500
        return connect_failure(exc, target).message
    finally:
        engine.dispose()
    return None
