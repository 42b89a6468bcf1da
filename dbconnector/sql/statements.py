"""/select, /insert, /update and /delete bodies -> SQLAlchemy statements for the target's dialect.

Tables, fields and sort keys are identifier paths (identifiers.py), filters are filter arrays
(filters.py), and every value is a bound parameter. The dialect renders quoting and paging: LIMIT
and OFFSET, or TOP and OFFSET ... FETCH on SQL Server.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Delete,
    Insert,
    Select,
    TableClause,
    Update,
    bindparam,
    delete,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy.types import NullType

from ..errors import BadRequest
from .filters import bind_value, compile_filter, value_param
from .identifiers import column_clause, parse_path, quoted, table_clause

DEFAULT_PAGE_SIZE = 100
_SORT = re.compile(r"^(.*?)(?:\s+(asc|desc))?\s*$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Place:
    """Where statements go: the dialect's name and the connection's default schema."""

    dialect: str
    default_schema: str | None = None
    max_rows: int = 0


def as_list(value: Any, what: str) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise BadRequest(f"{what} must be an array of strings")
    return value


def _order_by(sort: Any) -> list:
    clauses = []
    for entry in as_list(sort, "sort"):
        if not isinstance(entry, str):
            raise BadRequest('sort must be an array of strings like "ID DESC"')
        match = _SORT.match(entry)
        assert match is not None
        col = column_clause(match.group(1), "sort field")
        direction = (match.group(2) or "asc").lower()
        clauses.append(col.desc() if direction == "desc" else col.asc())
    return clauses


def paging(
    has_sort: bool, limit: int | None, page: int | None, max_rows: int
) -> tuple[int | None, int]:
    """(limit, offset) under the specification's rules, capped by DBCONNECTOR_SELECT_MAX_ROWS."""
    if limit is not None and not has_sort:
        raise BadRequest("Paged query must have sort/order")
    if page and not has_sort:
        raise BadRequest("Must have limit and sort if page defined")
    if has_sort and limit is None:
        limit = DEFAULT_PAGE_SIZE
    if max_rows and limit is not None and limit > max_rows:
        raise BadRequest(f"limit may be at most {max_rows}")
    if limit is None:
        return (max_rows or None), 0
    return limit, (page or 0) * limit


def select_statement(
    place: Place,
    table: str,
    fields: Any = None,
    filter: Any = None,
    sort: Any = None,
    limit: int | None = None,
    page: int | None = None,
) -> Select:
    source = table_clause(table, place.default_schema, place.dialect)
    names = as_list(fields, "fields")
    if not all(isinstance(name, str) for name in names):
        raise BadRequest("fields must be an array of strings")
    star = any(name.strip() == "*" for name in names)
    columns = [column_clause(name) for name in names if name.strip() != "*"]
    items = ([literal_column("*")] if star or not columns else []) + columns
    statement = select(*items).select_from(source)
    where = compile_filter(filter)
    if where is not None:
        statement = statement.where(where)
    order = _order_by(sort)
    if order:
        statement = statement.order_by(*order)
    row_limit, offset = paging(bool(order), limit, page, place.max_rows)
    if row_limit is not None:
        statement = statement.limit(row_limit)
    if offset:
        statement = statement.offset(offset)
    return statement


def _column_names(fields: Any) -> list[str]:
    names = as_list(fields, "fields")
    if not names:
        raise BadRequest("Insert must have fields defined")
    parsed = []
    for name in names:
        parts = parse_path(name, "field", 1) if isinstance(name, str) else None
        if parts is None:
            raise BadRequest("fields must be an array of strings")
        parsed.append(parts[0])
    if len(set(parsed)) != len(parsed):
        raise BadRequest("fields must not repeat a name")
    return parsed


def insert_rows(place: Place, table: str, fields: Any, values: Any) -> tuple[Insert, list[dict]]:
    """The INSERT and one parameter dict per row (executed as one statement or executemany)."""
    names = _column_names(fields)
    rows = _rows(values, len(names))
    # Bind names are positional (c0, c1, ...) so no field name reaches a parameter name.
    statement = insert(_table_with(place, table, names)).values(
        {quoted(name): bindparam(f"c{i}", type_=NullType()) for i, name in enumerate(names)}
    )
    params = [{f"c{i}": bind_value(v) for i, v in enumerate(row)} for row in rows]
    return statement, params


def _table_with(place: Place, table: str, names: list[str]) -> TableClause:
    """The target table, declaring the columns a statement writes."""
    target = table_clause(table, place.default_schema, place.dialect)
    return sa_table(target.name, *[sa_column(quoted(n)) for n in names], schema=target.schema)


def _rows(values: Any, width: int) -> list[Sequence[Any]]:
    if values is None or values == []:
        raise BadRequest("Insert must have field values defined")
    if not isinstance(values, list):
        raise BadRequest("values must be an array of rows")
    if all(not isinstance(v, list) for v in values) and len(values) == width:
        values = [values]  # one row given flat: [1, "david"]
    for number, row in enumerate(values, start=1):
        if not isinstance(row, list):
            raise BadRequest("values must be an array of rows (arrays)")
        if len(row) != width:
            raise BadRequest(f"values row {number} has {len(row)} values for {width} fields")
    return values


def update_statement(place: Place, table: str, values: Any, filter: Any) -> Update:
    if not isinstance(values, dict) or not values:
        raise BadRequest("Update must have field values defined")
    where = compile_filter(filter)
    if where is None:
        raise BadRequest("Update must have a filter defined")
    names = [parse_path(name, "field", 1)[0] for name in values]
    if len(set(names)) != len(names):
        raise BadRequest("values must not repeat a field")
    assignments = {quoted(n): value_param(v) for n, v in zip(names, values.values(), strict=True)}
    return update(_table_with(place, table, names)).values(assignments).where(where)


def delete_statement(place: Place, table: str, filter: Any) -> Delete:
    where = compile_filter(filter)
    if where is None:
        raise BadRequest("Delete must have a filter defined")
    return delete(table_clause(table, place.default_schema, place.dialect)).where(where)
