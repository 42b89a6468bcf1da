"""Database values -> JSON.

orjson writes str, int, float, bool, None, dict, list, datetime, date, time and UUID natively
(datetimes and times in ISO 8601, UUIDs as strings). This module supplies the rest:

- Decimal  -> a JSON number with exactly the database's digits (orjson.Fragment), never a float;
- bytes    -> base64 text;
- timedelta (MySQL TIME, PostgreSQL interval) -> "[-]HH:MM:SS[.ffffff]";
- anything else a driver may hand back (ipaddress objects, PostgreSQL ranges, ...) -> str().
"""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

import orjson


def to_json_value(value: Any) -> Any:
    """orjson's `default` hook: called only for values it cannot write itself."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        # str() keeps the database's digits; normalise exponents so the text is valid JSON.
        text = str(value)
        if "E" in text or "e" in text:
            text = format(value, "f")
        return orjson.Fragment(text)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dt.timedelta):
        return format_timedelta(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def format_timedelta(value: dt.timedelta) -> str:
    total = value.days * 86400 + value.seconds
    sign = "-" if total < 0 or (total == 0 and value.microseconds < 0) else ""
    if sign:
        value = -value
        total = value.days * 86400 + value.seconds
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
    if value.microseconds:
        text += f".{value.microseconds:06d}"
    return text
