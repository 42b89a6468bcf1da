"""The execution endpoints: POST /v1/{select,insert,update,delete,query,exec}/<driver>.

Each view is one line into execution/operations.py: the schema has validated the body by then."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from ..auth.guard import current, requires
from ..execution import operations
from ..execution.operations import DELETE, EXEC, INSERT, QUERY, SELECT, UPDATE
from .common import accepts, sent, services
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


@responds(ROWS)
@bp.post("/v1/select/<driver>")
@requires(SELECT.roles)
@accepts(SelectRequest)
def select(driver: str, data: dict[str, Any]) -> Response:
    """Rows of a table or view: fields, filter array, sort, limit and page (from 0).

    `limit` needs `sort`; with `sort` and no `limit`, 100 rows. Large results are streamed.
    """
    return sent(operations.perform(SELECT, services(), current(), driver, data))


@responds(INSERTED)
@bp.post("/v1/insert/<driver>")
@requires(INSERT.roles)
@accepts(InsertRequest)
def insert(driver: str, data: dict[str, Any]) -> dict[str, Any]:
    """Insert rows, all or none: {"Identity": N} for one row, {"result": "success"} for several."""
    return operations.perform(INSERT, services(), current(), driver, data)


@responds(UPDATED)
@bp.post("/v1/update/<driver>")
@requires(UPDATE.roles)
@accepts(UpdateRequest)
def update(driver: str, data: dict[str, Any]) -> dict[str, Any]:
    """Update the rows a (non-empty) filter array matches: {"Updated": N}."""
    return operations.perform(UPDATE, services(), current(), driver, data)


@responds(DELETED)
@bp.post("/v1/delete/<driver>")
@requires(DELETE.roles)
@accepts(DeleteRequest)
def delete(driver: str, data: dict[str, Any]) -> dict[str, Any]:
    """Delete the rows a (non-empty) filter array matches: {"Deleted": N}."""
    return operations.perform(DELETE, services(), current(), driver, data)


@responds(RESULT_SETS)
@bp.post("/v1/query/<driver>")
@requires(QUERY.roles)
@accepts(QueryRequest)
def query(driver: str, data: dict[str, Any]) -> Response:
    """Run one or more SQL statements (separated by semicolons) in one transaction.

    `args` replaces {name} tokens in the statement. One result set gives its rows; several give
    an array of arrays (a statement without rows gives []).
    """
    return sent(operations.perform(QUERY, services(), current(), driver, data))


@responds(PROCEDURE)
@bp.post("/v1/exec/<driver>")
@requires(EXEC.roles)
@accepts(ExecRequest)
def call_procedure(driver: str, data: dict[str, Any]) -> Response:
    """Run a stored procedure with named input (`params`) and output (`output`) parameters.

    Without outputs: its rows, or an array of arrays for several result sets. With outputs:
    {"result": ..., "output": {name: value}}.
    """
    return sent(operations.perform(EXEC, services(), current(), driver, data))
