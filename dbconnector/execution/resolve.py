"""connToken -> Target: look up the connection, check the caller's grant, pick and check the driver.

The answer is cached per (user, connToken) for DBCONNECTOR_CACHE_SECONDS, so an execution call
normally costs no metadata-database round trip; a revoked grant, a disabled or changed connection
takes effect within that many seconds on every instance (at once on the one that made the change).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..app_state import Services
from ..auth.guard import Principal
from ..drivers import confine, driver_named
from ..drivers.base import Driver, Target
from ..errors import BadRequest, Forbidden, NotFound
from ..store import connections as conn_store
from ..store import connstring
from ..store.connections import canonical_token
from ..store.db import read

TOKEN_NOT_FOUND = "connToken not found"  # noqa: S105 - a message, not a secret


@dataclass(frozen=True)
class _Resolved:
    """What the cache keeps per (user, connToken): the record, already parsed and checked."""

    connection_id: int
    token: str
    name: str
    enabled: bool
    spec: dict[str, Any]
    digest: str  # of the connection string: a changed string gets a new pool
    # Drivers this record has passed confinement's rules for, so each is checked once per load.
    confined: set[str] = field(default_factory=set, compare=False)


def resolve(svc: Services, principal: Principal, token: str, driver_name: str) -> Target:
    """The target a caller may use: `token` is the schema-checked string from the body, and is
    validated here, once, as a connToken."""
    driver = driver_named(driver_name)
    token = canonical_token(token)
    resolved = svc.targets.get((principal.id, token), lambda: _load(svc, principal, token))
    if not resolved.enabled:
        raise BadRequest("This connection is disabled")
    return _target(svc, resolved, driver)


def resolve_declared(
    svc: Services, principal: Principal, token: str, driver_name: str | None
) -> Target:
    """resolve(), with the driver the connection string declares when the caller names none
    (transfers have no :driver in their path)."""
    if not driver_name:
        token = canonical_token(token)
        resolved = svc.targets.get((principal.id, token), lambda: _load(svc, principal, token))
        driver_name = resolved.spec.get("driver")
        if not driver_name:
            raise BadRequest("This connection string names no driver: give the side's driver")
    return resolve(svc, principal, token, driver_name)


def _load(svc: Services, principal: Principal, token: str) -> _Resolved:
    with read(svc.engine) as conn:
        record = svc.connections.by_token(conn, token)
        if record is None:
            raise NotFound(TOKEN_NOT_FOUND)
        if not principal.admin and not conn_store.has_grant(conn, principal.id, record.id):
            raise Forbidden(f"user {principal.id} has no grant on connection {record.id}")
    text = record.connection_string
    return _Resolved(
        record.id,
        record.token,
        record.name,
        record.enabled,
        connstring.parse(text),
        hashlib.sha256(text.encode()).hexdigest(),
    )


def _target(svc: Services, resolved: _Resolved, driver: Driver) -> Target:
    spec = resolved.spec
    declared = spec.get("driver")
    if declared and driver_named(declared) is not driver:
        name = driver_named(declared).name
        raise BadRequest(
            f"This connection is for the {name} driver; call /{name} instead of /{driver.name}"
        )
    driver.check_options(spec)
    if driver.name not in resolved.confined:
        confine(svc.settings, spec, driver.name)
        resolved.confined.add(driver.name)
    options = spec.get("options") or {}
    settings = svc.settings
    connect_timeout = _seconds(options, "connect_timeout", settings.connect_timeout)
    statement_timeout = _seconds(options, "statement_timeout", settings.statement_timeout)
    fingerprint = f"{driver.name}|{connect_timeout}|{statement_timeout}|{resolved.digest}"
    return Target(
        connection_id=resolved.connection_id,
        token=resolved.token,
        driver=driver,
        spec=spec,
        fingerprint=fingerprint,
        connect_timeout=connect_timeout,
        statement_timeout=statement_timeout,
        name=resolved.name,
    )


def _seconds(options: dict, key: str, default: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 86400:
        raise BadRequest(f"connection option {key} must be a number of seconds")
    return float(value)


def confined_connection_string(svc: Services, raw: str | dict) -> str:
    """The connection string to store, once it passes the rules on what a target may be."""
    text = connstring.normalise(raw)
    confine(svc.settings, connstring.parse(text))
    return text
