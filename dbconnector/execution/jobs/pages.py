"""A job's rows in pages: spooled as they come from the target, read back page by page.

A page holds up to PAGE_ROWS rows as newline-separated JSON objects, each encoded exactly as the
synchronous endpoints encode a row (results.py), then zlib-compressed and sealed with the service
key. A page is served by joining its lines, so stored values are never decoded and re-encoded;
CSV and NDJSON read one page at a time, so memory stays flat whatever the result's size.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
import zlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from ...drivers.base import FETCH_ROWS, Driver
from ...errors import BadRequest
from ...store import jobs as job_store
from ...store.secrets import SecretBox
from ...telemetry.metrics import JOB_ROWS_SPOOLED
from ..results import dumps, encode_lines

PAGE_ROWS = FETCH_ROWS
PAGE_LIMIT_MAX = 10_000


class Cancelled(Exception):
    """The job's cancel was asked for while its rows were being spooled."""


def value_format(value: Any) -> str | None:
    """How results.py writes a value in JSON, by its Python type; None for NULL."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float | Decimal):
        return "number"
    if isinstance(value, dt.datetime):
        return "timestamp"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, dt.time | dt.timedelta):
        return "time"
    if isinstance(value, bytes | bytearray | memoryview):
        return "binary"
    if isinstance(value, uuid.UUID):
        return "uuid"
    if isinstance(value, dict | list):
        return "json"
    return "string"


# SQLite reports no column types: its storage class, from the first value, stands in.
_STORAGE_CLASS = {"integer": "INTEGER", "boolean": "INTEGER", "number": "REAL", "binary": "BLOB"}


class PageSpool:
    """A ResultSink that writes each result set of a job into sealed pages in the metadata
    database, under the job's row and byte caps."""

    def __init__(
        self,
        engine: Engine,
        box: SecretBox,
        job_id: str,
        owner: str,
        driver: Driver,
        max_rows: int,
        max_bytes: int,
        cancelled: Any = lambda: False,
    ) -> None:
        self.engine, self.box, self.job_id, self.driver = engine, box, job_id, driver
        self.owner = owner  # every page is written under the job's lease (store/jobs.add_page)
        self.max_rows, self.max_bytes, self.cancelled = max_rows, max_bytes, cancelled
        self.sets: list[dict[str, Any]] = []
        self.row_count = 0
        self.bytes = 0
        self._names: list[str] = []
        self._types: list[str | None] = []
        self._formats: list[str | None] = []
        self._lines: list[bytes] = []
        # Each result set's last page, stored with the job's finish (one write fewer per set).
        self.held: list[dict[str, Any]] = []
        self._page = 0
        self._set_rows = 0

    # ResultSink
    def begin(self, columns: list[str]) -> None:
        self._names, self._types = columns, [None] * len(columns)
        self._formats = [None] * len(columns)
        self._lines, self._page, self._set_rows = [], 0, 0

    def described(self, cursor: Any) -> None:
        self._types = self.driver.column_types(cursor)

    def rows(self, rows: list[tuple] | Any) -> None:
        if self.cancelled():
            raise Cancelled()
        lines = encode_lines(self._names, rows)
        self.bytes += sum(map(len, lines)) + len(lines)
        for row in rows:
            if None not in self._formats:
                break
            self._learn(row)
        self._lines.extend(lines)
        while len(self._lines) >= PAGE_ROWS:
            self._flush()
        self.row_count += len(rows)
        self._set_rows += len(rows)
        if self.row_count > self.max_rows:
            raise BadRequest(f"The result has more than {self.max_rows} rows (the job's cap)")
        if self.bytes > self.max_bytes:
            raise BadRequest(f"The result is larger than {self.max_bytes} bytes (the job's cap)")
        JOB_ROWS_SPOOLED.inc(len(rows))

    def end(self) -> None:
        self._flush(hold=True)
        columns = []
        for name, kind, form in zip(self._names, self._types, self._formats, strict=True):
            if kind is None:
                kind = _STORAGE_CLASS.get(form or "", "TEXT" if form else "NULL")
            columns.append({"name": name, "type": kind, "format": form or "string"})
        self.sets.append({"index": len(self.sets), "columns": columns, "rows": self._set_rows})

    def _learn(self, row: tuple) -> None:
        for index, value in enumerate(row[: len(self._formats)]):
            if self._formats[index] is None:
                self._formats[index] = value_format(value)

    def _flush(self, hold: bool = False) -> None:
        """Store the first PAGE_ROWS lines held (all of them at a result set's end) as a page;
        with `hold`, keep it for the finish to store instead (store/jobs.finish)."""
        page, self._lines = self._lines[:PAGE_ROWS], self._lines[PAGE_ROWS:]
        if not page:
            return
        payload = self.box.seal_bytes(zlib.compress(b"\n".join(page), 1))
        if hold:
            self.held.append(
                job_store.page_row(self.job_id, len(self.sets), self._page, len(page), payload)
            )
        else:
            job_store.add_page(
                self.engine, self.job_id, self.owner, len(self.sets), self._page, len(page), payload
            )
        self._page += 1


def _lines(engine: Engine, box: SecretBox, job_id: str, index: int, first: int, last: int):  # type: ignore[no-untyped-def]
    for page in job_store.pages(engine, job_id, index, first, last):
        text = zlib.decompress(box.open_bytes(page.payload))
        yield page.page, text.split(b"\n")


def page_rows(
    engine: Engine, box: SecretBox, job_id: str, index: int, offset: int, limit: int
) -> list[bytes]:
    """The encoded rows offset .. offset + limit - 1 of result set `index`."""
    first, last = offset // PAGE_ROWS, (offset + limit - 1) // PAGE_ROWS
    wanted: list[bytes] = []
    for number, lines in _lines(engine, box, job_id, index, first, last):
        start = max(0, offset - number * PAGE_ROWS)
        wanted.extend(lines[start : start + limit - len(wanted)])
    return wanted


def ndjson(engine: Engine, box: SecretBox, job_id: str, index: int) -> Iterator[bytes]:
    for _, lines in _lines(engine, box, job_id, index, 0, 2**31 - 1):
        yield b"\n".join(lines) + b"\n"


def csv_text(
    engine: Engine, box: SecretBox, job_id: str, index: int, names: list[str]
) -> Iterator[bytes]:
    """RFC 4180: a header row, CRLF line ends, fields quoted where needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(names)
    yield buffer.getvalue().encode()
    for _, lines in _lines(engine, box, job_id, index, 0, 2**31 - 1):
        buffer.seek(0)
        buffer.truncate()
        for line in lines:
            # parse_float keeps a decimal's exact digits, as the JSON rows have them.
            row = json.loads(line, parse_float=Decimal)
            writer.writerow([_csv_value(row.get(name)) for name in names])
        yield buffer.getvalue().encode()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return dumps(value).decode()
    return str(value)
