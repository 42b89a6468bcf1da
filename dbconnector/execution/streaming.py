"""A select's rows off a streaming (server-side) cursor, a batch at a time: the one read loop
behind the streamed /select body (direct.py), a job's page spool (operations.py) and a
transfer's source (transfers/source.py), so memory stays flat whatever the row count."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..drivers.base import FETCH_ROWS, ResultSink


def batches(result: Any, size: int = FETCH_ROWS) -> Iterator[list[Any]]:
    """The result's remaining rows, `size` at a time (through the result, not its cursor: with
    stream_results SQLAlchemy may already hold rows in its own buffer)."""
    while rows := result.fetchmany(size):
        yield rows


def into(result: Any, sink: ResultSink) -> None:
    """Every row of `result` into `sink`, as one result set."""
    sink.begin(list(result.keys()))
    described = getattr(sink, "described", None)
    if described is not None:  # a job's spool records the column types (jobs/pages.py)
        described(result.cursor)
    for rows in batches(result):
        sink.rows(rows)
    sink.end()
