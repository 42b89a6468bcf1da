"""Identifier paths from callers (tables, fields, sort keys) -> dialect-quoted SQLAlchemy names.

A plain identifier path is one to three parts joined by dots. Each part is either a bare word
(letters, digits, _, $, #, @; not starting with a digit) or a word in [brackets], "double quotes"
or `backticks`, which may also hold spaces and punctuation: `[property-code]`, `"first name"`.
No part may contain a quote or bracket character, a dot, a percent sign (a parameter marker to
pyformat drivers) or a control character, so no part can close its quoting; every part is then
quoted by the target's dialect. Anything else is a 400.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sqlalchemy import ColumnClause, TableClause, column, table
from sqlalchemy.sql.elements import quoted_name

from ..errors import BadRequest

PART_MAX = 128
_BARE = r"[^\W\d][\w$#@]*"
_INNER = r"[^\x00-\x1f\x7f\"`\[\].%]{1,128}"
_PART = rf"(?:{_BARE}|\[{_INNER}\]|\"{_INNER}\"|`{_INNER}`)"
_PATH = re.compile(rf"^\s*({_PART})(?:\s*\.\s*({_PART}))?(?:\s*\.\s*({_PART}))?\s*$")


def _unwrap(part: str) -> str:
    return part[1:-1] if part[0] in '["`' else part


@lru_cache(maxsize=4096)
def parse_path(text: str, what: str = "identifier", max_parts: int = 3) -> tuple[str, ...]:
    """'dbo.[test Table]' -> ('dbo', 'test Table'); BadRequest if not a plain identifier path."""
    if not isinstance(text, str):
        raise BadRequest(f"{what} must be a string")
    match = _PATH.match(text)
    if not match:
        raise BadRequest(f"{what} '{_shown(text)}' is not a plain identifier")
    parts = tuple(_unwrap(p) for p in match.groups() if p is not None)
    if len(parts) > max_parts:
        if max_parts == 1:
            raise BadRequest(f"{what} '{_shown(text)}' must be a bare name, without a table prefix")
        raise BadRequest(f"{what} '{_shown(text)}' has too many parts")
    if any(len(part) > PART_MAX for part in parts):
        raise BadRequest(f"{what} '{_shown(text)}' is longer than {PART_MAX} characters")
    return parts


def _shown(text: str) -> str:
    """The caller's text, clipped and stripped of control characters, for an error message."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if len(clean) <= 60 else clean[:57] + "..."


def quoted(name: str) -> quoted_name:
    return quoted_name(name, True)


def table_clause(text: str, default_schema: str | None = None, dialect: str = "") -> TableClause:
    """A table or view, optionally schema-qualified (and database-qualified on SQL Server)."""
    parts = parse_path(text, "table", 3 if dialect == "mssql" else 2)
    name = parts[-1]
    if len(parts) == 3:
        # SQL Server's database.schema.table: the dialect splits a bracketed "[db].[schema]"
        # schema; the parts cannot contain brackets, so each stays one identifier.
        return table(quoted(name), schema=f"[{parts[0]}].[{parts[1]}]")
    schema = parts[0] if len(parts) == 2 else default_schema
    return table(quoted(name), schema=quoted(schema) if schema else None)


def column_clause(text: str, what: str = "field") -> ColumnClause:
    """A column of the statement's one table, by its bare name. A table prefix ('t.col') is
    refused: SQLAlchemy would add that table to FROM, joining a table the caller did not name."""
    return column(quoted(parse_path(text, what, 1)[0]))
