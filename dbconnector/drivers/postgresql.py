"""PostgreSQL targets through psycopg 3.

Timeouts are set in the startup packet (`options=-c statement_timeout=...`), so they cost no round
trip and survive DISCARD ALL, which resets a connection after /query or /exec instead of closing it.
A connection string's `schema` becomes the search_path the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from psycopg import pq
from sqlalchemy import Connection, Insert, text
from sqlalchemy import column as sa_column

from ..errors import BadRequest, SystemRoutine
from ..sql.identifiers import quoted
from ..sql.transfer_types import ColumnKind
from .base import Driver, Endpoint, ProcedureCall, ResultSink, Target, drain, whole_seconds
from .transfer_values import JSON

_LIBPQ_OPTIONS = frozenset(
    {"sslmode", "sslrootcert", "sslcert", "sslkey", "target_session_attrs", "application_name"}
)


def _libpq_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(" ", "\\ ")


class PostgreSQLDriver(Driver):
    name = "postgresql"
    aliases = ("postgres", "pg", "pgsql", "psql")
    sqlalchemy_name = "postgresql+psycopg"
    default_port = 5432
    option_keys = _LIBPQ_OPTIONS
    # psycopg's autocommit is a client-side flag: a select then costs one round trip instead
    # of BEGIN, the query and ROLLBACK.
    read_options: ClassVar[dict[str, Any]] = {"isolation_level": "AUTOCOMMIT"}

    def connect_args(self, target: Target) -> dict[str, Any]:
        settings = [f"statement_timeout={int(target.statement_timeout * 1000)}"]
        schema = target.default_schema
        if schema:
            quoted = '"' + schema.replace('"', '""') + '"'
            settings.append(f"search_path={quoted}")
        args: dict[str, Any] = {
            "connect_timeout": whole_seconds(target.connect_timeout, 2),
            "options": " ".join(f"-c {_libpq_escape(s)}" for s in settings),
            "application_name": "dbconnector",
            # No server-side prepared statements: DISCARD ALL (end_session) drops them behind
            # psycopg's back, and its cache would then name statements that no longer exist.
            "prepare_threshold": None,
        }
        args.update({k: v for k, v in target.options.items() if k in _LIBPQ_OPTIONS})
        return args

    def endpoints(self, spec: Mapping[str, Any]) -> list[Endpoint]:
        """libpq tries every host of a comma list (and any PGHOSTADDR), takes what the string
        leaves out from the PG* variables, and defaults the database to the user name."""
        defaults = {
            option.keyword.decode(): option.val.decode() if option.val else ""
            for option in pq.Conninfo.get_defaults()
        }
        user = spec.get("user") or spec.get("username") or defaults["user"]
        database = spec.get("database") or defaults["dbname"] or user
        hosts = str(spec.get("host") or spec.get("server") or defaults["host"]).split(",")
        hosts += [address for address in defaults["hostaddr"].split(",") if address]
        ports = [spec["port"]] if spec.get("port") else defaults["port"].split(",")
        return [
            Endpoint(host.strip(), int(port) if str(port).strip() else self.default_port, database)
            for host in hosts
            for port in ports
        ]

    def insert_identity(self, conn: Connection, statement: Insert, params: dict) -> Any:
        column = self._identity_column(conn, statement)
        if column is None:
            conn.execute(statement, params)
            return None
        return conn.execute(statement.returning(sa_column(quoted(column))), params).scalar()

    @staticmethod
    def _identity_column(conn: Connection, statement: Insert) -> str | None:
        """The table's identity or serial column, from the catalog (cached per connection)."""
        table = statement.table
        schema = getattr(table, "schema", None)
        key = ("pg-identity", schema, table.name)
        cache = conn.connection.info.setdefault("dbc_identity", {})
        if key not in cache:
            cache[key] = conn.execute(
                text(
                    "SELECT a.attname FROM pg_attribute a "
                    "WHERE a.attrelid = to_regclass(:name) AND a.attnum > 0 "
                    "AND NOT a.attisdropped AND (a.attidentity <> '' OR "
                    "pg_get_serial_sequence(:name, a.attname) IS NOT NULL) "
                    "ORDER BY a.attnum LIMIT 1"
                ),
                {"name": _regclass_name(schema, table.name)},
            ).scalar()
        return cache[key]

    def call_procedure(
        self, conn: Connection, call: ProcedureCall, sink: ResultSink
    ) -> dict[str, Any]:
        path, params, outputs = call.path, call.params, call.outputs
        kind = self._routine_kind(conn, path, call.system_routines)
        preparer = conn.dialect.identifier_preparer
        name = ".".join(preparer.quote_identifier(p) for p in path)
        arguments = [f"{preparer.quote_identifier(k)} => %s" for k in params]
        values = list(params.values())
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            if kind == "p":
                # OUT parameters of a procedure are passed as NULL (INOUT ones with their value
                # from `params`) and come back as one row.
                arguments += [
                    f"{preparer.quote_identifier(o.name)} => NULL"
                    for o in outputs
                    if o.name not in params
                ]
                cursor.execute(f"CALL {name}({', '.join(arguments)})", values)
                row = cursor.fetchone() if cursor.description else None
                columns = [d.name for d in cursor.description] if cursor.description else []
                produced = dict(zip(columns, row, strict=True)) if row else {}
                return {o.name: produced.get(o.name) for o in outputs}
            cursor.execute(f"SELECT * FROM {name}({', '.join(arguments)})", values)
            first: dict[str, Any] = {}
            collector = _FirstRow(sink, first)
            drain(cursor, collector)
            return {o.name: first.get(o.name) for o in outputs}
        finally:
            cursor.close()

    @staticmethod
    def _routine_kind(conn: Connection, path: tuple[str, ...], system_routines: bool) -> str:
        """The routine's kind, from the catalogue; refused when the caller may not run system
        routines and any routine of that name the call may reach is one: in a system schema
        (pg_catalog, information_schema, pg_*) or a member of an extension (dblink, ...)."""
        if len(path) > 2:
            raise BadRequest("procname may be schema.name at most")
        schema, name = (path[0], path[1]) if len(path) == 2 else (None, path[0])
        found = conn.execute(
            text(
                "SELECT p.prokind, n.nspname IN ('pg_catalog', 'information_schema') "
                "OR n.nspname LIKE 'pg\\_%' OR EXISTS (SELECT 1 FROM pg_depend d "
                "WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') "
                "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE p.proname = :name AND (n.nspname = :schema OR "
                "(:schema IS NULL AND n.nspname = ANY(current_schemas(true))))"
            ),
            {"name": name, "schema": schema},
        ).all()
        if not found:
            raise BadRequest(f"procedure {'.'.join(path)} does not exist")
        if not system_routines and any(system for _, system in found):
            raise SystemRoutine(".".join(path))
        kinds = {kind for kind, _ in found}
        if "p" in kinds:
            return "p"
        if "f" in kinds:
            return "f"
        raise BadRequest(f"{'.'.join(path)} is not a procedure or function")

    def end_session(self, conn: Connection) -> None:
        # Back to the state the startup packet gave it (timeouts and search_path included).
        # DISCARD ALL refuses to run in a transaction block, so outside SQLAlchemy's autobegin.
        dbapi_connection = conn.connection.dbapi_connection
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            dbapi_connection.execute("DISCARD ALL")
        finally:
            dbapi_connection.autocommit = autocommit

    def backend_id(self, dbapi_connection: Any) -> Any:
        return dbapi_connection.info.backend_pid

    def cancel(self, engine: Any, dbapi_connection: Any, backend_id: Any) -> None:
        # libpq's cancel request, on its own short-lived connection to the server: it stops
        # whatever this backend runs now, and is safe to send from another thread.
        dbapi_connection.cancel_safe(timeout=5.0)

    def column_types(self, cursor: Any) -> list[str | None]:
        types = cursor.adapters.types
        names: list[str | None] = []
        for column in cursor.description or ():
            info = types.get(column.type_code)
            names.append(info.name if info is not None else str(column.type_code))
        return names

    write_adapters: ClassVar[dict[type, Callable[[Any], Any]]] = JSON

    def column_kinds(self, cursor: Any) -> list[ColumnKind | None]:
        kinds: list[ColumnKind | None] = []
        for column in cursor.description or ():
            code = column.type_code
            if code in _TEXT_OIDS:
                kinds.append(ColumnKind("text", column.display_size or 0))
            elif code == _NUMERIC_OID:
                kinds.append(ColumnKind("decimal", 0, column.precision or 0, column.scale or 0))
            else:
                kinds.append(_KINDS.get(code, ColumnKind("text")))
        return kinds

    def bulk_insert(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """COPY ... FROM STDIN in text format: the server parses each value as its column's
        type, so values from any source driver (SQLite's ISO dates, MySQL's 0/1) load as
        they are."""
        with _copy_from_stdin(conn, table, columns) as copy:
            for row in rows:
                copy.write_row(row)

    # --- PostgreSQL to PostgreSQL: COPY out piped into COPY in ------------------------------

    def describe(
        self, conn: Connection, sql: str, params: Any
    ) -> tuple[list[str], list[ColumnKind | None]]:
        """A statement's column names and kinds, planned (DECLAREd) but not run."""
        cursor = conn.connection.dbapi_connection.cursor(name="dbc_describe")  # type: ignore[union-attr]
        try:
            cursor.execute(sql, params or None)
            return [column.name for column in cursor.description or ()], self.column_kinds(cursor)
        finally:
            cursor.close()

    def copy_out(self, conn: Connection, sql: str, params: Any) -> Iterator[Any]:
        """The statement's rows in COPY's text format, one row a chunk (libpq's
        PQgetCopyData hands them over a row at a time)."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(f"COPY ({sql}\n) TO STDOUT", params or None) as copy:
                yield from copy
        finally:
            cursor.close()

    def copy_in(
        self, conn: Connection, table: str, columns: Sequence[str], chunks: Iterable[Any]
    ) -> None:
        with _copy_from_stdin(conn, table, columns) as copy:
            for chunk in chunks:
                copy.write(chunk)

    def message(self, error: BaseException) -> str:
        diag = getattr(error, "diag", None)
        primary = getattr(diag, "message_primary", None) if diag is not None else None
        if primary:
            detail = getattr(diag, "message_detail", None)
            return f"{primary} ({detail})" if detail else primary
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__

    def is_timeout(self, error: BaseException) -> bool:
        return getattr(error, "sqlstate", None) == "57014"


_TEXT_OIDS = frozenset({25, 1042, 1043})  # text, char(n), varchar(n)
_NUMERIC_OID = 1700
_KINDS = {
    16: ColumnKind("boolean"),
    17: ColumnKind("binary"),
    20: ColumnKind("integer", 8),
    21: ColumnKind("integer", 2),
    23: ColumnKind("integer", 4),
    700: ColumnKind("float"),
    701: ColumnKind("float"),
    1082: ColumnKind("date"),
    1083: ColumnKind("time"),
    1114: ColumnKind("timestamp"),
    1184: ColumnKind("timestamptz"),
    2950: ColumnKind("uuid"),
    114: ColumnKind("json"),
    3802: ColumnKind("json"),
}


class _FirstRow:
    """A sink that passes everything on and remembers the first row (a function's OUT values)."""

    def __init__(self, sink: ResultSink, first: dict[str, Any]) -> None:
        self.sink, self.first, self.columns = sink, first, []

    def begin(self, columns: list[str]) -> None:
        self.columns = columns
        self.sink.begin(columns)

    def rows(self, rows: list[tuple]) -> None:
        if not self.first and rows:
            self.first.update(zip(self.columns, rows[0], strict=True))
        self.sink.rows(rows)

    def end(self) -> None:
        self.sink.end()


def _regclass_name(schema: str | None, name: str) -> str:
    """'"schema"."table"' for to_regclass(); identifier parts never hold a double quote."""
    return f'"{schema}"."{name}"' if schema else f'"{name}"'


@contextmanager
def _copy_from_stdin(conn: Connection, table: str, columns: Sequence[str]) -> Iterator[Any]:
    """psycopg's COPY ... FROM STDIN into `table` (quoted already) and its quoted columns."""
    names = ", ".join(conn.dialect.identifier_preparer.quote_identifier(c) for c in columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            yield copy
    finally:
        cursor.close()
