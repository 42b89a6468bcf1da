"""The source side of a transfer: its statement run on a streaming (server-side) cursor, read in
batches, so memory stays flat whatever the row count. The source transaction is never committed:
whatever the statement did there is rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from ...drivers.base import Target
from ...sql.transfer_types import ColumnKind, kind_of_value
from .. import plan, streaming
from .sides import source_place


class Reader:
    def __init__(self, result: Any, source: Target, batch: int) -> None:
        self.result, self.batch = result, batch
        self.columns: list[str] = list(result.keys())
        self._kinds = source.driver.column_kinds(result.cursor)

    def batches(self) -> Iterator[list[Any]]:
        return streaming.batches(self.result, self.batch)

    def kinds(self, rows: list[Any]) -> list[ColumnKind]:
        """Each column's kind; where the driver says nothing, its first non-null value's."""
        kinds = []
        for index, known in enumerate(self._kinds):
            if known is None:
                first = next((row[index] for row in rows if row[index] is not None), None)
                known = kind_of_value(first)
            kinds.append(known)
        return kinds


@contextmanager
def reading(conn: Connection, source: Target, body: dict[str, Any], batch: int) -> Iterator[Reader]:
    streaming = conn.execution_options(stream_results=True, max_row_buffer=batch)
    if body.get("statement"):
        # Caller SQL as /query runs it: no parameters, so a % in it is only a percent sign.
        result = streaming.execution_options(no_parameters=True).exec_driver_sql(plan.query(body))
    else:
        where = source_place(source)
        result = streaming.execute(plan.select(where, body).statement(where))
    try:
        yield Reader(result, source, batch)
    finally:
        result.close()


def source_sql(conn: Connection, source: Target, body: dict[str, Any]) -> tuple[str, Any]:
    """The source statement as SQL text and its bound values, for COPY (...) TO STDOUT: caller
    SQL as it is (without a closing semicolon), a table source compiled by the dialect."""
    if body.get("statement"):
        return plan.query(body).strip().rstrip(";").rstrip(), None
    where = source_place(source)
    compiled = plan.select(where, body).statement(where).compile(dialect=conn.dialect)
    return str(compiled), compiled.params
