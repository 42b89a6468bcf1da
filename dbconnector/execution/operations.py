"""The operations, one declaration per kind: the roles that may call it, how it plans (a
validated body -> its compiled statement), how a submit checks it, how it runs within the request
(direct.py), its audit shape, and how it runs into a result sink (a job's page spool,
jobs/runner.py).

`perform` is the synchronous path: resolve the connToken (resolve.py), write the audit line (the
call's shape, never its values), plan once, run. Its caller passes what it needs (the app's
services, the calling principal); the views in api/execute.py are one line into here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from ..app_state import Services
from ..auth.guard import Principal
from ..drivers.base import FETCH_ROWS, ResultSink, Target
from ..errors import BadRequest, SystemRoutine
from ..lib import roles
from ..sql import shapes
from ..sql.statements import Place
from ..telemetry.requestlog import audit, auditing, note_target
from . import direct, plan, streaming
from .resolve import resolve


@dataclass(frozen=True)
class Operation:
    kind: str
    roles: int  # the role bits that may call it (lib/roles.py)
    # (where, body, the caller's role) -> the compiled statement
    plan: Callable[[Place, dict[str, Any], int], Any]
    run: Callable[[Services, Target, Place, Any], Any]  # the statement -> the answer, now
    shape: Callable[[dict[str, Any]], dict[str, Any]]  # the audit line's shape: never a value
    # The statement -> rows into a sink (a job's PageSpool); None: not a job kind.
    into: Callable[[Connection, Target, Place, Any, Any], Any] | None = None

    def check(self, where: Place, target: Target, body: dict[str, Any], role: int) -> None:
        """Everything the synchronous call would refuse before it runs, refused now (a job's
        submit): a select is built in full, a procedure needs a driver that has them."""
        planned = self.plan(where, body, role)
        if self.kind == "select":
            planned.statement(where)
        if self.kind == "exec" and not target.driver.procedures:
            raise BadRequest(f"The {target.driver.name} driver has no stored procedures")


def _select_into(
    conn: Connection, target: Target, where: Place, compiled: Any, sink: ResultSink
) -> None:
    """The whole select on a streaming cursor, FETCH_ROWS at a time, into `sink`."""
    result = conn.execution_options(stream_results=True, max_row_buffer=FETCH_ROWS).execute(
        compiled.statement(where)
    )
    try:
        streaming.into(result, sink)
    finally:
        result.close()


SELECT = Operation(
    "select",
    roles.SELECT,
    lambda where, body, _: plan.select(where, body),
    direct.select,
    shapes.select_shape,
    _select_into,
)
INSERT = Operation(
    "insert",
    roles.INSERT,
    lambda where, body, _: plan.insert(where, body),
    lambda svc, target, _, planned: direct.insert(svc, target, *planned),
    shapes.insert_shape,
)
UPDATE = Operation(
    "update",
    roles.UPDATE,
    lambda where, body, _: plan.update(where, body),
    lambda svc, target, _, statement: direct.update(svc, target, statement),
    shapes.update_shape,
)
DELETE = Operation(
    "delete",
    roles.DELETE,
    lambda where, body, _: plan.delete(where, body),
    lambda svc, target, _, statement: direct.delete(svc, target, statement),
    shapes.delete_shape,
)
QUERY = Operation(
    "query",
    roles.QUERY,
    lambda _, body, __: plan.query(body),
    lambda svc, target, _, sql: direct.query(svc, target, sql),
    shapes.query_shape,
    lambda conn, target, _, sql, sink: target.driver.run_batch(conn, sql, sink),
)
EXEC = Operation(
    "exec",
    roles.EXEC,
    # The database's own routines run SQL text: only /query's roles may call them.
    lambda _, body, role: plan.call(body, role),
    lambda svc, target, _, procedure: direct.call(svc, target, procedure),
    shapes.exec_shape,
    lambda conn, target, _, procedure, sink: target.driver.call_procedure(conn, procedure, sink),
)
KINDS = {op.kind: op for op in (SELECT, INSERT, UPDATE, DELETE, QUERY, EXEC)}


def perform(
    op: Operation, svc: Services, principal: Principal, driver: str, body: dict[str, Any]
) -> Any:
    """Run `op` on a validated body for `principal`, within the request: its answer."""
    target = resolve(svc, principal, body["token"], driver)
    note_target(target.name)
    if auditing():
        audit(
            f"execute.{op.kind}",
            connection=target.name,
            connection_id=target.connection_id,
            driver=target.driver.name,
            shape=op.shape(body),
        )
    where = plan.place(target, svc.settings.select_max_rows)
    try:
        return op.run(svc, target, where, op.plan(where, body, principal.role))
    except SystemRoutine as refused:
        audit("execute.refused", connection=target.name, procedure=refused.routine)
        raise
