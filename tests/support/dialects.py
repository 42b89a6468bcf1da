"""The four target dialects as the drivers configure them, and a renderer for compiled SQL."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.dialects.mysql import pymysql
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.dialects.sqlite import pysqlite
from sqlalchemy.engine import Dialect

from dbconnector.drivers.mssql import PymssqlDialect
from dbconnector.drivers.sqlite import quote_with_backticks


def mssql_dialect() -> Dialect:
    """pymssql against SQL Server 2019 (what initialize() sets up from the server version)."""
    dialect = PymssqlDialect(paramstyle="pyformat")
    dialect.server_version_info = (15, 0, 2000, 5)
    dialect._setup_version_attributes()
    return dialect


DIALECTS = {
    "mssql": mssql_dialect,
    "postgresql": psycopg.dialect,
    "mysql": pymysql.dialect,
    "sqlite": lambda: quote_with_backticks(pysqlite.dialect()),
}
QUOTES = {"mssql": ("[", "]"), "postgresql": ('"', '"'), "mysql": ("`", "`"), "sqlite": ("`", "`")}
_MARKER = re.compile(r"%\((\w+)\)s|%s|\?|(?<!:):(\w+)")


def render(statement: Any, dialect_name: str) -> tuple[str, list[Any]]:
    """(SQL with every bind marker written ?, the bound values in order)."""
    dialect = DIALECTS[dialect_name]()
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    sql = " ".join(str(compiled).split())
    params = compiled.params
    if compiled.positiontup:
        values = [params[name] for name in compiled.positiontup]
    else:
        values = [params[m.group(1) or m.group(2)] for m in _MARKER.finditer(sql)]
    return _MARKER.sub("?", sql), values


def quoted(template: str, dialect_name: str) -> str:
    """'{Name} = ?' -> '[Name] = ?' on mssql, '"Name" = ?' on PostgreSQL, ..."""
    left, right = QUOTES[dialect_name]
    return re.sub(r"\{([^}]+)\}", lambda m: f"{left}{m.group(1)}{right}", template)
