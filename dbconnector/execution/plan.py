"""Request body -> statement, for all six operations, in one place.

Each function takes a body the endpoint's schema has validated and returns what run.py executes:
a compiled /select (its SQL cached per shape in sql/plan_cache.py), an Insert with its rows, an
Update, a Delete, the /query batch text after `args` substitution, or a ProcedureCall. Every
identifier is quoted and every value bound by the target's dialect; nothing is pasted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Delete, Insert, Update

from ..auth import roles
from ..drivers.base import FETCH_ROWS, Output, ProcedureCall, Target
from ..sql import statements
from ..sql.identifiers import parse_path
from ..sql.plan_cache import CompiledSelect, compile_select
from ..sql.statements import Place
from ..sql.template import expand


def place(target: Target, max_rows: int) -> Place:
    """Where a target's statements are compiled: its dialect, default schema and row cap."""
    return Place(target.driver.name, target.default_schema, max_rows)


def select(where: Place, body: dict[str, Any]) -> CompiledSelect:
    """Read at most FETCH_ROWS + 1 rows first: one more tells run.py to stream the rest."""
    return compile_select(where, body, FETCH_ROWS + 1)


def insert(where: Place, body: dict[str, Any]) -> tuple[Insert, list[dict]]:
    return statements.insert_rows(where, body["table"], body.get("fields"), body.get("values"))


def update(where: Place, body: dict[str, Any]) -> Update:
    return statements.update_statement(where, body["table"], body.get("values"), body.get("filter"))


def delete(where: Place, body: dict[str, Any]) -> Delete:
    return statements.delete_statement(where, body["table"], body.get("filter"))


def query(body: dict[str, Any]) -> str:
    return expand(body["statement"], body.get("args"))


def call(body: dict[str, Any], role: int) -> ProcedureCall:
    """The procedure to run for a caller of `role`: the database's own routines run SQL text,
    so only /query's roles may call them."""
    return ProcedureCall(
        path=parse_path(body["procname"], "procname"),
        params={_bare(name): value for name, value in (body.get("params") or {}).items()},
        outputs=tuple(
            Output(_bare(name), kind.lower()) for name, kind in (body.get("output") or {}).items()
        ),
        system_routines=bool(role & roles.QUERY),
    )


def _bare(name: str) -> str:
    """A parameter name without its optional '@' (names are checked by ExecRequest)."""
    return name.removeprefix("@")
