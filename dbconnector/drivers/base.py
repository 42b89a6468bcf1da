"""The driver interface: how DBConnector connects to, runs statements on, and reads errors from one
kind of database. One subclass per `:driver` path segment (mssql, postgresql, mysql, sqlite).

What differs between databases lives here and in the subclasses; what does not (paging, quoting,
binding) is SQLAlchemy's dialect's job, and the request-level flow is in runner.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy import URL, Connection, Engine, Insert, create_engine

from ..errors import BadRequest
from ..sql.transfer_types import ColumnKind
from .liveness import ping_when_idle

if TYPE_CHECKING:
    from ..config import Settings


class ResultSink(Protocol):
    """Receives the result sets of a batch or a procedure, in order (see results.py)."""

    def begin(self, columns: list[str]) -> None: ...
    def rows(self, rows: list[tuple]) -> None: ...
    def end(self) -> None: ...


@dataclass(frozen=True)
class Target:
    """A connection string resolved for one call: where to connect and under which limits."""

    connection_id: int
    token: str
    driver: Driver
    spec: Mapping[str, Any] = field(hash=False)
    fingerprint: str
    connect_timeout: float
    statement_timeout: float
    name: str = ""  # the connection's name, for logs

    @property
    def default_schema(self) -> str | None:
        return self.spec.get("schema") or None

    @property
    def options(self) -> Mapping[str, Any]:
        return self.spec.get("options") or {}


@dataclass(frozen=True)
class Output:
    """A declared output parameter of a stored procedure."""

    name: str
    kind: str  # "number" | "varchar" | "nvarchar"


@dataclass(frozen=True)
class ProcedureCall:
    """/exec's request: the procedure, its inputs by name, and the outputs to read back."""

    path: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    outputs: tuple[Output, ...] = ()
    # Whether the caller may run the database's own routines (system schemas, extensions):
    # they run SQL text or read files, which below FULL only /query's roles may do.
    system_routines: bool = False

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Endpoint:
    """One server and database a connection string may reach, after the driver's defaults: ""
    for the host is this machine's socket; None for a port or database the driver leaves to the
    server (an instance's port, a login's default database), which could be any."""

    host: str
    port: int | None
    database: str | None


FETCH_ROWS = 1000


class Driver:
    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    sqlalchemy_name: ClassVar[str]
    default_port: ClassVar[int | None] = None
    # Keys a connection string's "options" may set for this driver, beyond the common ones.
    option_keys: ClassVar[frozenset[str]] = frozenset()
    common_options: ClassVar[frozenset[str]] = frozenset(
        {"connect_timeout", "statement_timeout", "pool_size", "max_overflow"}
    )
    # Extra create_engine() arguments for this kind of database.
    engine_options: ClassVar[dict[str, Any]] = {}
    # Ping a pooled connection that has been idle before use (liveness.py): a server may have
    # restarted or dropped it.
    pre_ping: ClassVar[bool] = True
    # Exceptions the driver raises beyond its DB-API Error classes.
    extra_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    # Execution options for a single select, run outside a transaction where that is free
    # (a client-side switch); {} runs it in the usual transaction.
    read_options: ClassVar[dict[str, Any]] = {}
    # Writes queue on a per-target WriteLock (writelock.py) instead of in the database's own
    # busy wait: for single-writer files (SQLite).
    queues_writes: ClassVar[bool] = False
    # Whether call_procedure runs anything: an /exec job is refused at submit time otherwise.
    procedures: ClassVar[bool] = True

    # --- connecting ---------------------------------------------------------------------------

    def check_options(self, spec: Mapping[str, Any]) -> None:
        options = spec.get("options") or {}
        unknown = sorted(set(options) - self.option_keys - self.common_options)
        if unknown:
            allowed = ", ".join(sorted(self.option_keys | self.common_options))
            raise BadRequest(
                f"connection option(s) {', '.join(unknown)} are not known to the {self.name} "
                f"driver (allowed: {allowed})"
            )

    def url(self, spec: Mapping[str, Any]) -> URL:
        return URL.create(
            self.sqlalchemy_name,
            username=spec.get("user") or spec.get("username") or None,
            password=spec.get("password") or None,
            host=spec.get("host") or spec.get("server") or None,
            port=spec.get("port") or self.default_port,
            database=spec.get("database") or None,
        )

    def connect_args(self, target: Target) -> dict[str, Any]:
        return {}

    def endpoints(self, spec: Mapping[str, Any]) -> list[Endpoint]:
        """Every server and database this driver would try for `spec` (confinement.py)."""
        host = str(spec.get("host") or spec.get("server") or "")
        database = spec.get("database") or None
        return [Endpoint(host, spec.get("port") or self.default_port, database)]

    def make_engine(self, target: Target, settings: Settings) -> Engine:
        options = target.options
        engine = create_engine(
            self.url(target.spec),
            connect_args=self.connect_args(target),
            pool_size=int(options.get("pool_size", settings.pool_size)),
            max_overflow=int(options.get("max_overflow", settings.pool_max_overflow)),
            pool_timeout=max(1.0, target.connect_timeout),
            pool_recycle=settings.pool_recycle or -1,
            **self.engine_options,
        )
        if self.pre_ping:
            # A connection that died in the pool (server restart, idle timeout, failover) is
            # replaced transparently at checkout.
            ping_when_idle(engine)
        self.install_events(engine, target)
        return engine

    def install_events(self, engine: Engine, target: Target) -> None:
        """Per-connection setup (session timeouts, safety settings)."""

    # --- running ------------------------------------------------------------------------------

    def insert_identity(self, conn: Connection, statement: Insert, params: dict) -> Any:
        """Insert one row; return its new identity / auto-increment value, or None."""
        result = conn.execute(statement, params)
        return result.lastrowid or None

    def run_batch(self, conn: Connection, sql: str, sink: ResultSink) -> None:
        """Run one or more statements as the database's own batch, reporting its result sets."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql)
            drain(cursor, sink)
        finally:
            cursor.close()

    def call_procedure(
        self, conn: Connection, call: ProcedureCall, sink: ResultSink
    ) -> dict[str, Any]:
        """Run a stored procedure; report its result sets to `sink`, return its output values."""
        raise BadRequest(f"The {self.name} driver has no stored procedures")

    def end_session(self, conn: Connection) -> None:
        """After /query or /exec, whose SQL may change session state (USE, SET, temp tables):
        by default the connection is closed rather than handed to the next caller."""
        conn.invalidate()

    # --- async jobs (execution/jobs/) ---------------------------------------------------------

    def backend_id(self, dbapi_connection: Any) -> Any:
        """The server's id of this connection (a PostgreSQL backend pid, a MySQL thread id, a SQL
        Server session id), which a cancel from another thread aims at; None for SQLite."""
        return None

    def cancel(self, engine: Engine, dbapi_connection: Any, backend_id: Any) -> None:
        """Stop the statement running on `dbapi_connection` (another thread's), at the database."""
        raise NotImplementedError(f"the {self.name} driver cannot cancel a statement")

    def column_types(self, cursor: Any) -> list[str | None]:
        """The database's own type name of each column of the cursor's current result set; None
        where the driver does not say (the caller falls back on the values)."""
        return [None for _ in cursor.description or ()]

    # --- transfers (execution/transfers/) -----------------------------------------------------

    # Python values this driver cannot bind as they come from another driver, by exact type, and
    # what to send instead.
    write_adapters: ClassVar[dict[type, Callable[[Any], Any]]] = {}

    def column_kinds(self, cursor: Any) -> list[ColumnKind | None]:
        """Each column of the cursor's result in the transfer type map's terms
        (sql/transfer_types.py); None where the driver does not say (taken from the values)."""
        return [None for _ in cursor.description or ()]

    def bulk_insert(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert `rows` into `table` (quoted) in the connection's transaction, through the
        driver's fastest path: by default one parameterised INSERT run with executemany (PyMySQL
        rewrites that into multi-row INSERTs, sqlite3 steps one prepared statement)."""
        marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        names = ", ".join(conn.dialect.identifier_preparer.quote_identifier(c) for c in columns)
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join([marker] * len(columns))})"
        if rows and not isinstance(rows[0], tuple):  # PyMySQL binds only tuples and lists
            rows = [tuple(row) for row in rows]
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    # --- errors -------------------------------------------------------------------------------

    def message(self, error: BaseException) -> str:
        """The database's own words about a failed statement."""
        return str(error)

    def is_timeout(self, error: BaseException) -> bool:
        return False


def drain(cursor: Any, sink: ResultSink) -> None:
    """Report every result set of an executed DB-API cursor to `sink`, in order (nextset).

    Statements that return no result set (INSERT, UPDATE, DDL) add nothing: pymssql cannot see
    them at all, so every driver follows the same rule, which is also the original service's
    (node-mssql's recordsets).
    """
    while True:
        if cursor.description:
            sink.begin([str(d[0]) for d in cursor.description])
            described = getattr(sink, "described", None)
            if described is not None:  # a job's spool records the column types (jobs/pages.py)
                described(cursor)
            while True:
                rows = cursor.fetchmany(FETCH_ROWS)
                if rows:
                    sink.rows(rows)
                # A short batch ends the set. Do not ask again: pymssql's next fetchmany would
                # run on into the following result set.
                if len(rows) < FETCH_ROWS:
                    break
            sink.end()
        nextset = getattr(cursor, "nextset", None)  # sqlite3 runs one statement per execute()
        if nextset is None or not nextset():
            break


def whole_seconds(value: float, minimum: int = 1) -> int:
    return max(minimum, math.ceil(value))
