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
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

JSON = "application/json"


@dataclass(frozen=True)
class Answer:
    """A body for api/ to send as it is: whole bytes (sent with a Content-Length) or chunks to
    stream, and their media type. execution/ builds bodies, never HTTP responses."""

    body: bytes | Iterable[bytes]
    mimetype: str = JSON


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


# --- result bodies ----------------------------------------------------------------------------


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=to_json_value, option=orjson.OPT_NON_STR_KEYS)


def encode_rows(columns: list[str], rows: Any) -> bytes:
    """Rows as comma-separated JSON objects, without the enclosing brackets."""
    return dumps([dict(zip(columns, row, strict=False)) for row in rows])[1:-1]


# orjson escapes every newline inside a string and writes a Fragment's bytes as they are, so a raw
# newline between the rows of one array marks exactly where each row's JSON ends.
_ROW_BREAK = orjson.Fragment(b"\n")


def encode_lines(columns: list[str], rows: Any) -> list[bytes]:
    """Each row as its own JSON object, as dumps() writes it, from one encoder call per chunk."""
    if not rows:
        return []
    items: list[Any] = [_ROW_BREAK] * (2 * len(rows) - 1)
    items[::2] = [dict(zip(columns, row, strict=False)) for row in rows]
    return dumps(items)[1:-1].split(b",\n,")


SPOOL_MEMORY = 8 * 1024 * 1024
_CHUNK = 64 * 1024


class ResultSpool:
    """Collects the result sets of a batch or procedure as JSON, in memory up to 8 MB, then in a
    temporary file, so a large result never has to fit in memory. Shapes, as the specification
    gives them: one result set -> its rows; none or several -> an array of arrays."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 - closed in body()
        self.sets = 0
        self.row_count = 0
        self._columns: list[str] = []
        self._first = True

    # ResultSink
    def begin(self, columns: list[str]) -> None:
        self._separate()
        self.file.write(b"[")
        self._columns, self._first = columns, True

    def rows(self, rows: list[tuple]) -> None:
        self.row_count += len(rows)
        if rows:
            if not self._first:
                self.file.write(b",")
            self.file.write(encode_rows(self._columns, rows))
            self._first = False

    def end(self) -> None:
        self.file.write(b"]")

    def _separate(self) -> None:
        if self.sets:
            self.file.write(b",")
        self.sets += 1

    def body(self) -> Iterator[bytes]:
        """The JSON body, in chunks; closes the spool when done."""
        try:
            if self.sets == 0:
                yield b"[]"
                return
            nested = self.sets > 1
            if nested:
                yield b"["
            self.file.seek(0)
            while chunk := self.file.read(_CHUNK):
                yield chunk
            if nested:
                yield b"]"
        finally:
            self.file.close()

    def close(self) -> None:
        self.file.close()
