"""MySQL and MariaDB targets through PyMySQL.

The statement timeout is the server's own where it has one (MariaDB's max_statement_time covers
every statement; MySQL's max_execution_time only SELECTs), backed by a socket read timeout a few
seconds longer. Stored procedures take positional arguments only, so named parameters are put in
order from information_schema.PARAMETERS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from pymysql.charset import charset_by_id
from pymysql.constants import CLIENT, FIELD_TYPE, FLAG
from sqlalchemy import Connection, Engine, event, text

from ..errors import BadRequest, SystemRoutine
from ..sql.transfer_types import ColumnKind
from .base import Driver, Endpoint, ProcedureCall, ResultSink, Target, drain, whole_seconds
from .transfer_values import TO_MYSQL

_TIMEOUT_CODES = {1969, 3024, 1317}  # MariaDB max_statement_time, MySQL max_execution_time, killed
_BINARY_CHARSET = 63
# The protocol's field types as MySQL's own type names (FIELD_TYPE's are the C API's).
_TYPE_NAMES = {
    FIELD_TYPE.DECIMAL: "decimal",
    FIELD_TYPE.NEWDECIMAL: "decimal",
    FIELD_TYPE.TINY: "tinyint",
    FIELD_TYPE.SHORT: "smallint",
    FIELD_TYPE.LONG: "int",
    FIELD_TYPE.INT24: "mediumint",
    FIELD_TYPE.LONGLONG: "bigint",
    FIELD_TYPE.FLOAT: "float",
    FIELD_TYPE.DOUBLE: "double",
    FIELD_TYPE.NULL: "null",
    FIELD_TYPE.TIMESTAMP: "timestamp",
    FIELD_TYPE.DATE: "date",
    FIELD_TYPE.NEWDATE: "date",
    FIELD_TYPE.TIME: "time",
    FIELD_TYPE.DATETIME: "datetime",
    FIELD_TYPE.YEAR: "year",
    FIELD_TYPE.BIT: "bit",
    FIELD_TYPE.JSON: "json",
    FIELD_TYPE.ENUM: "enum",
    FIELD_TYPE.SET: "set",
    FIELD_TYPE.GEOMETRY: "geometry",
}
_TEXT_TYPES = {  # field type -> (text name, binary name)
    FIELD_TYPE.VARCHAR: ("varchar", "varbinary"),
    FIELD_TYPE.VAR_STRING: ("varchar", "varbinary"),
    FIELD_TYPE.STRING: ("char", "binary"),
    FIELD_TYPE.TINY_BLOB: ("tinytext", "tinyblob"),
    FIELD_TYPE.BLOB: ("text", "blob"),
    FIELD_TYPE.MEDIUM_BLOB: ("mediumtext", "mediumblob"),
    FIELD_TYPE.LONG_BLOB: ("longtext", "longblob"),
}


_SYSTEM_SCHEMAS = frozenset({"mysql", "sys", "information_schema", "performance_schema"})


class MySQLDriver(Driver):
    name = "mysql"
    aliases = ("mariadb",)
    sqlalchemy_name = "mysql+pymysql"
    default_port = 3306
    option_keys = frozenset({"charset", "ssl_ca", "ssl_verify_cert"})

    def url(self, spec: Mapping[str, Any]) -> Any:
        url = super().url(spec)
        # MySQL's schema is its database: either key names the default one.
        if not url.database and spec.get("schema"):
            url = url.set(database=spec["schema"])
        return url

    def endpoints(self, spec: Mapping[str, Any]) -> list[Endpoint]:
        # PyMySQL connects to localhost when no host is named; schema names the database too.
        host = str(spec.get("host") or spec.get("server") or "localhost")
        database = spec.get("database") or spec.get("schema") or None
        return [Endpoint(host, spec.get("port") or self.default_port, database)]

    def connect_args(self, target: Target) -> dict[str, Any]:
        options = target.options
        # PyMySQL reads the server's greeting under read_timeout, not connect_timeout: start with
        # the connect timeout so a host that accepts but never answers fails in time, and widen
        # it for statements once connected (install_events).
        args: dict[str, Any] = {
            "connect_timeout": whole_seconds(target.connect_timeout),
            "read_timeout": whole_seconds(target.connect_timeout),
            "write_timeout": whole_seconds(target.connect_timeout),
            # FOUND_ROWS: {"Updated": N} counts matched rows, as SQL Server does, not only changed.
            "client_flag": CLIENT.MULTI_STATEMENTS | CLIENT.FOUND_ROWS,
            "charset": options.get("charset", "utf8mb4"),
        }
        if options.get("ssl_ca"):
            args["ssl"] = {"ca": options["ssl_ca"]}
            args["ssl_verify_cert"] = bool(options.get("ssl_verify_cert", True))
        return args

    def install_events(self, engine: Engine, target: Target) -> None:
        seconds = target.statement_timeout

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                if "MariaDB" in dbapi_connection.get_server_info():
                    cursor.execute("SET SESSION max_statement_time = %s", (seconds,))
                else:
                    cursor.execute("SET SESSION max_execution_time = %s", (int(seconds * 1000),))
            finally:
                cursor.close()
            # The socket backstop a little past the server's own statement timeout (PyMySQL
            # applies these before every read and write).
            dbapi_connection._read_timeout = whole_seconds(seconds + 5)
            dbapi_connection._write_timeout = whole_seconds(seconds + 5)

    def call_procedure(
        self, conn: Connection, call: ProcedureCall, sink: ResultSink
    ) -> dict[str, Any]:
        path, params, outputs = call.path, call.params, call.outputs
        if len(path) > 2:
            raise BadRequest("procname may be database.name at most")
        schema, name = (path[0], path[1]) if len(path) == 2 else (None, path[0])
        home = conn.execute(
            text(
                "SELECT ROUTINE_SCHEMA FROM information_schema.ROUTINES WHERE ROUTINE_TYPE = "
                "'PROCEDURE' AND ROUTINE_SCHEMA = COALESCE(:schema, DATABASE()) "
                "AND ROUTINE_NAME = :name"
            ),
            {"schema": schema, "name": name},
        ).scalar()
        if home is None:
            raise BadRequest(f"procedure {'.'.join(path)} does not exist")
        # The server's own schemas hold routines that run SQL text (sys.execute_prepared_stmt).
        if not call.system_routines and home.lower() in _SYSTEM_SCHEMAS:
            raise SystemRoutine(".".join(path))
        declared = conn.execute(
            text(
                "SELECT PARAMETER_NAME, PARAMETER_MODE FROM information_schema.PARAMETERS "
                "WHERE SPECIFIC_SCHEMA = :schema AND SPECIFIC_NAME = :name "
                "AND ROUTINE_TYPE = 'PROCEDURE' AND ORDINAL_POSITION > 0 ORDER BY ORDINAL_POSITION"
            ),
            {"schema": home, "name": name},
        ).all()
        modes = {row[0].lower(): (row[0], row[1]) for row in declared}
        wanted_out = {o.name.lower() for o in outputs}
        for key in list(params) + [o.name for o in outputs]:
            if key.lower() not in modes:
                raise BadRequest(f"procedure {'.'.join(path)} has no parameter named {key}")
        given = {k.lower(): v for k, v in params.items()}
        arguments, values, setup, fetch = [], [], [], []
        for index, (param_name, mode) in enumerate(modes.values()):
            key = param_name.lower()
            if mode == "IN":
                if key not in given:
                    raise BadRequest(f"Missing parameter {param_name} of {'.'.join(path)}")
                arguments.append("%s")
                values.append(given[key])
                continue
            variable = f"@dbc_out_{index}"
            arguments.append(variable)
            if mode == "INOUT" and key in given:
                setup.append((f"SET {variable} = %s", (given[key],)))
            else:
                setup.append((f"SET {variable} = NULL", ()))
            if key in wanted_out:
                fetch.append((variable, param_name))
        preparer = conn.dialect.identifier_preparer
        routine = ".".join(preparer.quote_identifier(p) for p in path)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for statement, args in setup:
                cursor.execute(statement, args)
            cursor.execute(f"CALL {routine}({', '.join(arguments)})", values)
            drain(cursor, sink)
            if not fetch:
                return {}
            cursor.execute("SELECT " + ", ".join(variable for variable, _ in fetch))
            row = cursor.fetchone()
        finally:
            cursor.close()
        by_lower = {
            param_name.lower(): value for (_, param_name), value in zip(fetch, row, strict=True)
        }
        return {o.name: by_lower.get(o.name.lower()) for o in outputs}

    def backend_id(self, dbapi_connection: Any) -> Any:
        return dbapi_connection.thread_id()

    def cancel(self, engine: Engine, dbapi_connection: Any, backend_id: Any) -> None:
        # KILL QUERY from a second connection stops the statement and keeps the session.
        with engine.connect() as conn:
            conn.exec_driver_sql(f"KILL QUERY {int(backend_id)}")

    def column_types(self, cursor: Any) -> list[str | None]:
        fields = getattr(getattr(cursor, "_result", None), "fields", None) or []
        names: list[str | None] = []
        for index, column in enumerate(cursor.description or ()):
            code = column[1]
            if code in _TEXT_TYPES:
                binary = index < len(fields) and fields[index].charsetnr == _BINARY_CHARSET
                names.append(_TEXT_TYPES[code][1 if binary else 0])
            else:
                names.append(_TYPE_NAMES.get(code, str(code)))
        return names

    write_adapters: ClassVar[dict[type, Callable[[Any], Any]]] = TO_MYSQL

    def column_kinds(self, cursor: Any) -> list[ColumnKind | None]:
        fields = getattr(getattr(cursor, "_result", None), "fields", None) or []
        return [_kind(field) for field in fields] or super().column_kinds(cursor)

    def message(self, error: BaseException) -> str:
        args = getattr(error, "args", ())
        if len(args) >= 2 and isinstance(args[1], str):
            return args[1]
        return str(error)

    def is_timeout(self, error: BaseException) -> bool:
        args = getattr(error, "args", ())
        return bool(args) and args[0] in _TIMEOUT_CODES


_INTEGER_BYTES = {
    FIELD_TYPE.TINY: 2,
    FIELD_TYPE.SHORT: 2,
    FIELD_TYPE.INT24: 4,
    FIELD_TYPE.LONG: 4,
    FIELD_TYPE.LONGLONG: 8,
    FIELD_TYPE.YEAR: 2,
}
_BLOBS = frozenset(
    {FIELD_TYPE.TINY_BLOB, FIELD_TYPE.BLOB, FIELD_TYPE.MEDIUM_BLOB, FIELD_TYPE.LONG_BLOB}
)
_FIXED_KINDS = {
    FIELD_TYPE.FLOAT: "float",
    FIELD_TYPE.DOUBLE: "float",
    FIELD_TYPE.DATE: "date",
    FIELD_TYPE.DATETIME: "timestamp",
    FIELD_TYPE.TIMESTAMP: "timestamp",
    FIELD_TYPE.TIME: "time",
    FIELD_TYPE.JSON: "json",
}


def _kind(field: Any) -> ColumnKind:
    """A result column's kind from PyMySQL's field packet: lengths there are in bytes of the
    connection's character set, decimals count their point and sign."""
    code = field.type_code
    if code == FIELD_TYPE.TINY and field.length == 1:
        return ColumnKind("boolean")  # BOOLEAN is TINYINT(1)
    if code in _INTEGER_BYTES:
        unsigned = bool(field.flags & FLAG.UNSIGNED)
        size = _INTEGER_BYTES[code]
        return ColumnKind("integer", min(8, size * 2) if unsigned else size)
    if code in (FIELD_TYPE.DECIMAL, FIELD_TYPE.NEWDECIMAL):
        scale = field.scale
        digits = field.length - (1 if scale else 0) - (0 if field.flags & FLAG.UNSIGNED else 1)
        return ColumnKind("decimal", 0, max(digits, 1), scale)
    if code in _FIXED_KINDS:
        return ColumnKind(_FIXED_KINDS[code])
    if code in _TEXT_TYPES:
        # TEXT and BLOB columns are unbounded in the map.
        blob = code in _BLOBS
        if field.charsetnr == _BINARY_CHARSET:
            return ColumnKind("binary", 0 if blob else field.length)
        name = charset_by_id(field.charsetnr).name
        per_char = {"utf8mb4": 4, "utf8mb3": 3, "utf8": 3}.get(name, 1)
        return ColumnKind("text", 0 if blob else field.length // per_char)
    return ColumnKind("text")
