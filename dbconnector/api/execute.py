"""The execution endpoints: POST /v1/{select,insert,update,delete,query,exec}/<driver>."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from .. import runner
from ..auth import roles
from ..auth.guard import current, requires
from ..drivers.base import Output, ProcedureCall, Target
from ..requestlog import audit, auditing, note_target
from ..services import Services, services
from ..sql import statements
from ..sql.identifiers import parse_path
from ..sql.shapes import shape_of
from ..sql.template import expand
from ..targets import resolve
from .common import accepts
from .execute_schemas import (
    DeleteRequest,
    ExecRequest,
    InsertRequest,
    QueryRequest,
    SelectRequest,
    UpdateRequest,
)
from .responses import DELETED, INSERTED, PROCEDURE, RESULT_SETS, ROWS, UPDATED, responds

bp = Blueprint("execute", __name__)


def _target(driver: str, data: dict[str, Any]) -> tuple[Services, Target, statements.Place]:
    svc = services()
    target = resolve(svc, current(), data["token"], driver)
    note_target(target.name)
    if auditing():
        kind = (request.endpoint or "").rsplit(".", 1)[-1].removesuffix("_procedure")
        audit(
            f"execute.{kind}",
            connection=target.name,
            connection_id=target.connection_id,
            driver=target.driver.name,
            shape=shape_of(kind, data),
        )
    place = statements.Place(
        target.driver.name, target.default_schema, svc.settings.select_max_rows
    )
    return svc, target, place


@responds(ROWS)
@bp.post("/v1/select/<driver>")
@requires(roles.SELECT)
@accepts(SelectRequest)
def select(driver: str, data: dict[str, Any]) -> Response:
    """Rows of a table or view: fields, filter array, sort, limit and page (from 0).

    `limit` needs `sort`; with `sort` and no `limit`, 100 rows. Large results are streamed.
    """
    svc, target, place = _target(driver, data)
    return runner.select(svc, target, place, data)


@responds(INSERTED)
@bp.post("/v1/insert/<driver>")
@requires(roles.INSERT)
@accepts(InsertRequest)
def insert(driver: str, data: dict[str, Any]) -> dict[str, Any]:
    """Insert rows, all or none: {"Identity": N} for one row, {"result": "success"} for several."""
    svc, target, place = _target(driver, data)
    statement, rows = statements.insert_rows(
        place, data["table"], data.get("fields"), data.get("values")
    )
    return runner.insert(svc, target, statement, rows)


@responds(UPDATED)
@bp.post("/v1/update/<driver>")
@requires(roles.UPDATE)
@accepts(UpdateRequest)
def update(driver: str, data: dict[str, Any]) -> dict[str, Any]:
    """Update the rows a (non-empty) filter array matches: {"Updated": N}."""
    svc, target, place = _target(driver, data)
    statement = statements.update_statement(
        place, data["table"], data.get("values"), data.get("filter")
    )
    return runner.update(svc, target, statement)


@responds(DELETED)
@bp.post("/v1/delete/<driver>")
@requires(roles.DELETE)
@accepts(DeleteRequest)
def delete(driver: str, data: dict[str, Any]) -> dict[str, Any]:
    """Delete the rows a (non-empty) filter array matches: {"Deleted": N}."""
    svc, target, place = _target(driver, data)
    statement = statements.delete_statement(place, data["table"], data.get("filter"))
    return runner.delete(svc, target, statement)


@responds(RESULT_SETS)
@bp.post("/v1/query/<driver>")
@requires(roles.QUERY)
@accepts(QueryRequest)
def query(driver: str, data: dict[str, Any]) -> Response:
    """Run one or more SQL statements (separated by semicolons) in one transaction.

    `args` replaces {name} tokens in the statement. One result set gives its rows; several give
    an array of arrays (a statement without rows gives []).
    """
    svc, target, _ = _target(driver, data)
    return runner.query(svc, target, expand(data["statement"], data.get("args")))


@responds(PROCEDURE)
@bp.post("/v1/exec/<driver>")
@requires(roles.EXEC)
@accepts(ExecRequest)
def exec_procedure(driver: str, data: dict[str, Any]) -> Response:
    """Run a stored procedure with named input (`params`) and output (`output`) parameters.

    Without outputs: its rows, or an array of arrays for several result sets. With outputs:
    {"result": ..., "output": {name: value}}.
    """
    svc, target, _ = _target(driver, data)
    procedure = ProcedureCall(
        path=parse_path(data["procname"], "procname"),
        params={_bare(name): value for name, value in (data.get("params") or {}).items()},
        outputs=tuple(
            Output(_bare(name), kind.lower()) for name, kind in (data.get("output") or {}).items()
        ),
    )
    return runner.call(svc, target, procedure)


def _bare(name: str) -> str:
    """A parameter name without its optional '@' (names are checked by ExecRequest)."""
    return name.removeprefix("@")
