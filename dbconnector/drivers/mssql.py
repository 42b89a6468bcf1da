"""SQL Server targets through pymssql (the driver the specification names); Babelfish speaks the
same TDS protocol.

- Identity: SCOPE_IDENTITY() must run in the INSERT's own batch (a new batch is a new scope), so
  the insert is sent together with `SELECT CAST(SCOPE_IDENTITY() AS NUMERIC(38, 0))`.
- Procedures: pymssql's callproc drops OUTPUT values when the procedure also returns rows
  (pymssql #466), so we send `DECLARE @o ...; EXEC proc @a = %s, @o = @o OUTPUT; SELECT @o` and
  walk every result set with nextset(), returning all of them (Redash and Data API Builder return
  only the first).
- pymssql allows 25 connections per process unless raised; our pools decide the real bound.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pymssql
from sqlalchemy import Connection, Insert

from .base import Driver, Output, ResultSink, Target, drain, whole_seconds

pymssql.set_max_connections(1000)

OUTPUT_MARKER = "__dbc_outputs__"
_SQL_TYPES = {"number": "DECIMAL(38, 10)", "varchar": "NVARCHAR(MAX)"}
_DBLIB_TAIL = re.compile(r"\s*DB-Lib error message.*$", re.DOTALL)
_TIMEOUT_NUMBERS = {20003}


class MSSQLDriver(Driver):
    name = "mssql"
    aliases = ("sqlserver", "tsql", "babelfish")
    sqlalchemy_name = "mssql+pymssql"
    default_port = 1433
    option_keys = frozenset({"tds_version", "charset", "appname"})

    def connect_args(self, target: Target) -> dict[str, Any]:
        options = target.options
        args: dict[str, Any] = {
            "login_timeout": whole_seconds(target.connect_timeout),
            "timeout": whole_seconds(target.statement_timeout),
            "appname": options.get("appname", "dbconnector"),
        }
        if "tds_version" in options:
            args["tds_version"] = options["tds_version"]
        if "charset" in options:
            args["charset"] = options["charset"]
        return args

    def insert_identity(self, conn: Connection, statement: Insert, params: dict) -> Any:
        compiled = statement.compile(dialect=conn.dialect)
        sql = f"{compiled}; SELECT CAST(SCOPE_IDENTITY() AS NUMERIC(38, 0)) AS [Identity]"
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, compiled.construct_params(params))
            while not cursor.description:
                if not cursor.nextset():
                    return None
            row = cursor.fetchone()
        finally:
            cursor.close()
        return int(row[0]) if row and row[0] is not None else None

    def procedure_batch(
        self,
        conn: Connection,
        path: tuple[str, ...],
        params: Mapping[str, Any],
        outputs: list[Output],
    ) -> tuple[str, list[Any]]:
        """The T-SQL batch that runs a procedure and then selects its OUTPUT values."""
        preparer = conn.dialect.identifier_preparer
        routine = ".".join(preparer.quote_identifier(p) for p in path)
        variables = {o.name: f"@dbc_out_{i}" for i, o in enumerate(outputs)}
        lines = []
        if outputs:
            declared = ", ".join(f"{variables[o.name]} {_SQL_TYPES[o.kind]}" for o in outputs)
            lines.append(f"DECLARE {declared};")
        arguments = [f"@{name} = %s" for name in params]
        arguments += [f"@{o.name} = {variables[o.name]} OUTPUT" for o in outputs]
        lines.append(f"EXEC {routine} {', '.join(arguments)};" if arguments else f"EXEC {routine};")
        if outputs:
            selected = ", ".join(
                f"{variables[o.name]} AS {preparer.quote_identifier(o.name)}" for o in outputs
            )
            lines.append(f"SELECT 1 AS [{OUTPUT_MARKER}], {selected};")
        return "\n".join(lines), list(params.values())

    def call_procedure(
        self,
        conn: Connection,
        path: tuple[str, ...],
        params: Mapping[str, Any],
        outputs: list[Output],
        sink: ResultSink,
    ) -> dict[str, Any]:
        sql, values = self.procedure_batch(conn, path, params, outputs)
        catcher = _OutputCatcher(sink)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, tuple(values))
            drain(cursor, catcher, count_empty=False)
        finally:
            cursor.close()
        return {o.name: _number(catcher.values.get(o.name), o.kind) for o in outputs}

    def message(self, error: BaseException) -> str:
        args = getattr(error, "args", ())
        raw = args[1] if len(args) >= 2 else (args[0] if args else error)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return _DBLIB_TAIL.sub("", text).strip() or "SQL Server error"

    def is_timeout(self, error: BaseException) -> bool:
        args = getattr(error, "args", ())
        return bool(args) and args[0] in _TIMEOUT_NUMBERS


def _number(value: Any, kind: str) -> Any:
    """A `number` output comes back as DECIMAL(38, 10): drop the padding zeros it adds."""
    if kind != "number" or value is None:
        return value
    normal = value.normalize()
    return int(normal) if normal == normal.to_integral_value() else normal


class _OutputCatcher:
    """Forwards the procedure's result sets; keeps our trailing SELECT of OUTPUT values."""

    def __init__(self, sink: ResultSink) -> None:
        self.sink = sink
        self.values: dict[str, Any] = {}
        self.columns: list[str] | None = None
        self.catching = False

    def begin(self, columns: list[str]) -> None:
        self.catching = bool(columns) and columns[0] == OUTPUT_MARKER
        if self.catching:
            self.columns = columns
        else:
            self.sink.begin(columns)

    def rows(self, rows: list[tuple]) -> None:
        if self.catching:
            if rows and self.columns:
                self.values = dict(zip(self.columns[1:], rows[0][1:], strict=True))
        else:
            self.sink.rows(rows)

    def end(self) -> None:
        if not self.catching:
            self.sink.end()
        self.catching = False

    def empty(self) -> None:
        self.sink.empty()
