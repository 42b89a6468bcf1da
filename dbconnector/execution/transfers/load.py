"""The target side of a transfer, one mode each, all or nothing.

- append: the rows go into the existing table in one transaction.
- create: the table (which must not exist) is made from the source's column kinds through the
  type map (sql/transfer_types.py), in the same transaction where DDL is transactional
  (PostgreSQL, SQLite, SQL Server); on MySQL/MariaDB, whose DDL commits, it is dropped again if
  the transfer fails.
- replace: PostgreSQL loads a staging table made LIKE the target (INCLUDING ALL) and, in the same
  transaction, drops the target and renames the staging table into its place; MySQL/MariaDB
  loads a staging table made LIKE the target, commits, and swaps the two with one atomic RENAME
  TABLE. Readers see the old rows until then, and the new ones after. SQLite and SQL Server
  delete the old rows and load the new ones in one transaction, which readers see whole or not
  at all (neither can copy a table's definition in SQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, inspect

from ...drivers.base import Target
from ...drivers.transfer_values import adapt_rows
from ...errors import BadRequest
from ...sql.transfer_types import ColumnKind, column_ddl

STAGING_SUFFIX = "__dbc_"


class Load:
    def __init__(
        self,
        engine: Engine,
        conn: Connection,
        target: Target,
        table: tuple[str, ...],
        mode: str,
        job_id: str,
    ) -> None:
        self.engine, self.conn, self.target, self.mode = engine, conn, target, mode
        self.dialect = target.driver.name
        self.parts = table
        quote = conn.dialect.identifier_preparer.quote_identifier
        self.quote = quote
        self.table = ".".join(quote(part) for part in table)
        self.into = self.table  # where the rows go: the table, or its staging table
        staging = f"{table[-1][: 63 - len(STAGING_SUFFIX) - 8]}{STAGING_SUFFIX}{job_id[:8]}"
        self.staging_name = staging
        self.staging = self._beside(staging)
        self.made: str | None = None  # a table made outside the transaction, dropped on failure
        self.columns: list[str] = []
        self.transaction = conn.begin()

    def start(self, columns: list[str], kinds: Sequence[ColumnKind]) -> None:
        self.columns = columns
        exists = self._exists()
        shown = ".".join(self.parts)
        if self.mode == "create":
            if exists:
                raise BadRequest(f"The target table {shown} already exists (mode create)")
            definition = ", ".join(
                f"{self.quote(name)} {column_ddl(self.dialect, kind)}"
                for name, kind in zip(columns, kinds, strict=True)
            )
            self._ddl(f"CREATE TABLE {self.table} ({definition})", self.table)
            return
        if not exists:
            raise BadRequest(f"The target table {shown} does not exist (mode {self.mode})")
        if self.mode != "replace":
            return
        if self.dialect == "postgresql":
            self._ddl(f"CREATE TABLE {self.staging} (LIKE {self.table} INCLUDING ALL)", None)
            self.into = self.staging
        elif self.dialect == "mysql":
            self._ddl(f"CREATE TABLE {self.staging} LIKE {self.table}", self.staging)
            self.into = self.staging
        else:
            self.conn.exec_driver_sql(f"DELETE FROM {self.table}")

    def write(self, rows: list[Any]) -> None:
        rows = adapt_rows(self.target.driver.write_adapters, rows)
        self.target.driver.bulk_insert(self.conn, self.into, self.columns, rows)

    def pipe(self, chunks: Any) -> None:
        """Rows already in the target's COPY text format (PostgreSQL to PostgreSQL)."""
        driver: Any = self.target.driver
        driver.copy_in(self.conn, self.into, self.columns, chunks)

    def commit(self) -> None:
        if self.mode == "replace" and self.dialect == "postgresql":
            self.conn.exec_driver_sql(f"DROP TABLE {self.table}")
            self.conn.exec_driver_sql(
                f"ALTER TABLE {self.staging} RENAME TO {self.quote(self.parts[-1])}"
            )
        self.transaction.commit()
        if self.mode == "replace" and self.dialect == "mysql":
            retired = self._beside(self.staging_name + "o")
            self.conn.exec_driver_sql(
                f"RENAME TABLE {self.table} TO {retired}, {self.staging} TO {self.table}"
            )
            self.made = None
            self.conn.exec_driver_sql(f"DROP TABLE {retired}")
        self.made = None

    def abort(self) -> None:
        """Roll back, and drop what the transaction could not take back."""
        if self.transaction.is_active:
            self.transaction.rollback()
        if self.made is None:
            return
        if self.conn.invalidated:  # a cancel closed it: drop through a fresh connection
            with self.engine.connect() as conn:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self.made}")
                conn.commit()
            return
        self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self.made}")
        self.conn.commit()

    def _beside(self, name: str) -> str:
        """A table of this name in the target table's schema, quoted."""
        return ".".join([*map(self.quote, self.parts[:-1]), self.quote(name)])

    def _exists(self) -> bool:
        schema = ".".join(self.parts[:-1]) or None
        return inspect(self.conn).has_table(self.parts[-1], schema=schema)

    def _ddl(self, sql: str, outside: str | None) -> None:
        """DDL in the transaction; on MySQL/MariaDB it commits by itself, so what it made is
        remembered and dropped if the transfer fails."""
        if self.dialect == "mysql":
            self.made = outside
        self.conn.exec_driver_sql(sql)
