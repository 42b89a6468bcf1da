"""Database drivers, by the name in the `:driver` path segment (aliases included)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import BadRequest
from .base import Driver
from .confinement import rules_for
from .mssql import MSSQLDriver
from .mysql import MySQLDriver
from .postgresql import PostgreSQLDriver
from .sqlite import SQLiteDriver

DRIVERS: dict[str, Driver] = {}
for _driver in (MSSQLDriver(), PostgreSQLDriver(), MySQLDriver(), SQLiteDriver()):
    for _name in (_driver.name, *_driver.aliases):
        DRIVERS[_name] = _driver


def driver_named(name: str) -> Driver:
    driver = DRIVERS.get(name.strip().lower())
    if driver is None:
        raise BadRequest(f"Unknown driver '{name[:40]}': use mssql, postgresql, mysql or sqlite")
    return driver


def confine(settings: Any, spec: Mapping[str, Any], driver: str | None = None) -> None:
    """Refuse a connection string that could reach the service's own data (confinement.py), as
    `driver` would use it, or the driver it declares, or with none (or an unknown one) any."""
    name = str(driver or spec.get("driver") or "").strip().lower()
    named = DRIVERS.get(name)
    drivers = [named] if named is not None else list(dict.fromkeys(DRIVERS.values()))
    endpoints = [endpoint for each in drivers for endpoint in each.endpoints(spec)]
    rules_for(settings).check(spec, driver, endpoints)
