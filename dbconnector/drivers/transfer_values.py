"""How a value read through one driver is sent through another, for transfers: the adapters
each driver's `write_adapters` names, keyed by the value's exact Python type."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any


def json_text(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def naive_utc(value: dt.datetime) -> dt.datetime:
    """MySQL's DATETIME has no zone: an aware time is sent as UTC."""
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def iso_datetime(value: dt.datetime) -> str:
    return value.isoformat(" ")


def iso(value: dt.date | dt.time) -> str:
    return value.isoformat()


JSON: dict[type, Callable[[Any], Any]] = {dict: json_text, list: json_text}
TO_MYSQL: dict[type, Callable[[Any], Any]] = {
    **JSON,
    uuid.UUID: str,
    dt.datetime: naive_utc,
    memoryview: bytes,
}
# Decimals as exact text: SQLite's float would keep 15 digits.
TO_SQLITE: dict[type, Callable[[Any], Any]] = {
    **JSON,
    bool: int,
    uuid.UUID: str,
    Decimal: str,
    dt.datetime: iso_datetime,
    dt.date: iso,
    dt.time: iso,
    memoryview: bytes,
}


def adapt_rows(
    adapters: dict[type, Callable[[Any], Any]], rows: list[tuple] | list[Any]
) -> list[tuple] | list[Any]:
    """The rows with every value the target driver cannot bind converted; a column is looked at
    only when its first non-null value in this batch needs converting, so most batches pass
    through untouched."""
    if not adapters or not rows:
        return rows
    width = len(rows[0])
    columns: list[int] = []
    for index in range(width):
        for row in rows:
            value = row[index]
            if value is not None:
                if type(value) in adapters:
                    columns.append(index)
                break
    if not columns:
        return rows
    converted = []
    for row in rows:
        values = list(row)
        for index in columns:
            value = values[index]
            if value is not None:
                conversion = adapters.get(type(value))
                values[index] = conversion(value) if conversion is not None else value
        converted.append(tuple(values))
    return converted
