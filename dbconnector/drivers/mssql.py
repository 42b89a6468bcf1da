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
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import pymssql
import pymssql._mssql
from sqlalchemy import Connection, Dialect, Engine, Insert
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.mssql.pymssql import MSDialect_pymssql, MSIdentifierPreparer_pymssql

from ..errors import SystemRoutine
from .base import Driver, Endpoint, ProcedureCall, ResultSink, Target, drain, whole_seconds
from .transfer_values import JSON

# SQL Server takes at most 2,100 parameters and 1,000 VALUES rows per statement.
PARAMETERS_MAX = 2100
VALUES_ROWS_MAX = 1000

pymssql.set_max_connections(1000)


class AlwaysBracketPreparer(MSIdentifierPreparer_pymssql):
    """Brackets every identifier, including the parts of a database.schema qualifier, which
    SQLAlchemy otherwise leaves bare when they look safe."""

    def quote(self, ident: str, force: object = None) -> str:
        return self.quote_identifier(ident)


class PymssqlDialect(MSDialect_pymssql):
    """SQLAlchemy's pymssql dialect, also reading the version of TDS servers whose @@VERSION does
    not start with "Microsoft" (Babelfish): paging needs it (OFFSET/FETCH from SQL Server 2012)."""

    supports_statement_cache = True
    preparer = AlwaysBracketPreparer

    def _get_server_version_info(self, connection):  # type: ignore[no-untyped-def]
        version = super()._get_server_version_info(connection)
        if version is not None:
            return version
        text = connection.exec_driver_sql(
            "SELECT CAST(SERVERPROPERTY('ProductVersion') AS VARCHAR(32))"
        ).scalar()
        match = re.match(r"(\d+)\.(\d+)\.(\d+)\.(\d+)", text or "")
        return tuple(int(part) for part in match.groups()) if match else None

    def do_rollback(self, dbapi_connection):  # type: ignore[no-untyped-def]
        # When an error aborts the whole transaction on the server ("batch abort"), pymssql's
        # ROLLBACK finds none. pymssql itself shrugs that off for SQL Server's wording; Babelfish
        # words it differently (error 3903), so do the same here: nothing to roll back, and open
        # the transaction pymssql promises to keep open when autocommit is off.
        try:
            super().do_rollback(dbapi_connection)
        except (pymssql.Error, pymssql._mssql.MSSQLDatabaseException) as exc:
            if error_parts(exc)[0] != _NO_TRANSACTION:
                raise
            cursor = dbapi_connection.cursor()
            cursor.execute("BEGIN TRAN")
            cursor.close()


registry.register("mssql.dbcpymssql", __name__, "PymssqlDialect")

OUTPUT_MARKER = "__dbc_outputs__"
# VARCHAR, not NVARCHAR, for "varchar": Babelfish will not pass an NVARCHAR variable to a
# VARCHAR OUTPUT parameter. "nvarchar" is there for Unicode outputs.
_SQL_TYPES = {"number": "DECIMAL(38, 10)", "varchar": "VARCHAR(MAX)", "nvarchar": "NVARCHAR(MAX)"}
# The server's own databases and schemas, and its system procedures (sp_executesql runs SQL text;
# an sp_ name is looked up in master first, whatever the current database).
_SYSTEM_DATABASES = frozenset({"master", "msdb", "model", "tempdb", "mssqlsystemresource"})
_SYSTEM_SCHEMAS = frozenset({"sys", "information_schema"})
_SYSTEM_PREFIXES = ("sp_", "xp_")
_DBLIB_TAIL = re.compile(r"\s*DB-Lib error message.*$", re.DOTALL)
_TIMEOUT_NUMBERS = {20003}
_NO_TRANSACTION = 3903


class MSSQLDriver(Driver):
    name = "mssql"
    aliases = ("sqlserver", "tsql", "babelfish")
    sqlalchemy_name = "mssql+dbcpymssql"
    default_port = 1433
    option_keys = frozenset({"tds_version", "charset", "appname"})
    # We never read table comments; skip SQLAlchemy's probe for them (it fails on Babelfish).
    engine_options = {"supports_comments": False}
    # pymssql's lower layer raises these directly (e.g. on a connection a timeout killed).
    extra_errors = (pymssql._mssql.MSSQLException,)

    def endpoints(self, spec: Mapping[str, Any]) -> list[Endpoint]:
        """FreeTDS reads `host,port`, `host:port` and `host\\instance`; an instance's port comes
        from the server's browser, and a login without a database gets its default one: either
        unknown here (None)."""
        server = str(spec.get("host") or spec.get("server") or "")
        host, _, port_text = server.replace(",", ":").partition(":")
        host, _, instance = host.partition("\\")
        port = spec.get("port") or (int(port_text) if port_text.strip().isdigit() else None)
        if port is None and not instance:
            port = self.default_port
        return [Endpoint(host.strip(), port, spec.get("database") or None)]

    def connect_args(self, target: Target) -> dict[str, Any]:
        options = target.options
        args: dict[str, Any] = {
            "login_timeout": whole_seconds(target.connect_timeout),
            "timeout": whole_seconds(target.statement_timeout),
            "appname": options.get("appname", "dbconnector"),
            # A fixed TDS version (SQL Server 2012+): left to negotiate, FreeTDS retries older
            # versions one by one, and a silent host takes several login timeouts to give up.
            "tds_version": options.get("tds_version", "7.4"),
        }
        if "charset" in options:
            args["charset"] = options["charset"]
        return args

    write_adapters: ClassVar[dict[type, Callable[[Any], Any]]] = JSON

    def bulk_insert(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Multi-row parameterised INSERTs, as many rows a statement as SQL Server allows."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for sql, values in insert_batches(conn.dialect, table, columns, rows):
                cursor.execute(sql, values)
        finally:
            cursor.close()

    @staticmethod
    def identity_batch(dialect: Dialect, statement: Insert, params: dict) -> tuple[str, dict]:
        """The INSERT and, in the same batch (so the same scope), its SCOPE_IDENTITY()."""
        compiled = statement.compile(dialect=dialect)
        sql = f"{compiled}; SELECT CAST(SCOPE_IDENTITY() AS NUMERIC(38, 0)) AS [Identity]"
        return sql, compiled.construct_params(params)

    def insert_identity(self, conn: Connection, statement: Insert, params: dict) -> Any:
        sql, values = self.identity_batch(conn.dialect, statement, params)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, values)
            while not cursor.description:
                if not cursor.nextset():
                    return None
            row = cursor.fetchone()
        finally:
            cursor.close()
        return int(row[0]) if row and row[0] is not None else None

    @staticmethod
    def procedure_batch(dialect: Dialect, call: ProcedureCall) -> tuple[str, tuple[Any, ...]]:
        """The T-SQL batch that runs a procedure and then selects its OUTPUT values.

        An output also named in `params` is INOUT: its variable starts with the given value.
        Values are %s parameters; names are validated identifiers (api/execute_schemas.py).
        """
        params, outputs = call.params, call.outputs
        if not call.system_routines and is_system_routine(call.path):
            raise SystemRoutine(call.name)
        preparer = dialect.identifier_preparer
        routine = ".".join(preparer.quote_identifier(p) for p in call.path)
        variables = {o.name.lower(): f"@dbc_out_{i}" for i, o in enumerate(outputs)}
        given = {name.lower(): value for name, value in params.items()}
        lines, values = [], []
        for output in outputs:
            declared = f"DECLARE {variables[output.name.lower()]} {_SQL_TYPES[output.kind]}"
            if output.name.lower() in given:
                declared += " = %s"
                values.append(given[output.name.lower()])
            lines.append(declared + ";")
        arguments = []
        for name, value in params.items():
            if name.lower() not in variables:
                arguments.append(f"@{name} = %s")
                values.append(value)
        arguments += [f"@{o.name} = {variables[o.name.lower()]} OUTPUT" for o in outputs]
        lines.append(f"EXEC {routine} {', '.join(arguments)};" if arguments else f"EXEC {routine};")
        if outputs:
            selected = ", ".join(
                f"{variables[o.name.lower()]} AS {preparer.quote_identifier(o.name)}"
                for o in outputs
            )
            lines.append(f"SELECT 1 AS [{OUTPUT_MARKER}], {selected};")
        return "\n".join(lines), tuple(values)

    def call_procedure(
        self, conn: Connection, call: ProcedureCall, sink: ResultSink
    ) -> dict[str, Any]:
        sql, values = self.procedure_batch(conn.dialect, call)
        catcher = _OutputCatcher(sink)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, values)
            drain(cursor, catcher)
        finally:
            cursor.close()
        return {o.name: _number(catcher.values.get(o.name), o.kind) for o in call.outputs}

    def backend_id(self, dbapi_connection: Any) -> Any:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT @@SPID")
            return int(cursor.fetchone()[0])
        finally:
            cursor.close()

    def cancel(self, engine: Engine, dbapi_connection: Any, backend_id: Any) -> None:
        # KILL of the job's own session, from a second one; KILL refuses a transaction.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"KILL {int(backend_id)}")

    def column_types(self, cursor: Any) -> list[str | None]:
        # pymssql reports only its five DB-API type groups.
        groups = {1: "nvarchar", 2: "varbinary", 3: "int", 4: "datetime2", 5: "decimal"}
        return [groups.get(column[1]) for column in cursor.description or ()]

    def message(self, error: BaseException) -> str:
        return _DBLIB_TAIL.sub("", error_parts(error)[1]).strip() or "SQL Server error"

    def is_timeout(self, error: BaseException) -> bool:
        number, text = error_parts(error)
        # pymssql reports a query timeout as 20003, or as 20047 ("DBPROCESS is dead") after it
        return number in _TIMEOUT_NUMBERS or "message 20003" in text


def error_parts(error: BaseException) -> tuple[int | None, str]:
    """(error number, message) from pymssql's exceptions, whose args are (number, b"message")
    or, raised from _mssql, ((number, b"message"),)."""
    args = getattr(error, "args", ())
    if len(args) == 1 and isinstance(args[0], tuple):
        args = args[0]
    number = getattr(error, "number", None)
    if number is None and args and isinstance(args[0], int):
        number = args[0]
    raw = args[1] if len(args) >= 2 else (args[0] if args else "")
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return number, text


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


def insert_batches(
    dialect: Dialect, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Iterator[tuple[str, tuple]]:
    """(T-SQL, values) per multi-row INSERT: pymssql's %s markers, bracketed names."""
    width = max(1, len(columns))
    per_statement = max(1, min(VALUES_ROWS_MAX, (PARAMETERS_MAX - 1) // width))
    quote = dialect.identifier_preparer.quote_identifier
    head = f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) VALUES "
    row_markers = "(" + ", ".join(["%s"] * len(columns)) + ")"
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        values = tuple(value for row in chunk for value in row)
        yield head + ", ".join([row_markers] * len(chunk)), values


def is_system_routine(path: tuple[str, ...]) -> bool:
    """Whether a procname (name, schema.name or database.schema.name) names one of SQL
    Server's own routines: pymssql gives no catalogue lookup before the batch runs, and a
    name decides where SQL Server looks (sp_ in master, sys in the resource database)."""
    lowered = [part.lower() for part in path]
    database = lowered[-3] if len(lowered) == 3 else None
    schema = lowered[-2] if len(lowered) >= 2 else None
    return (
        database in _SYSTEM_DATABASES
        or schema in _SYSTEM_SCHEMAS
        or lowered[-1].startswith(_SYSTEM_PREFIXES)
    )
