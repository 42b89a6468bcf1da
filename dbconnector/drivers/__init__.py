"""Database drivers, by the name in the `:driver` path segment (aliases included)."""

from __future__ import annotations

from ..errors import BadRequest
from .base import Driver
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
