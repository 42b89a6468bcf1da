"""POST /v1/jobs/transfer: validate both sides as the synchronous endpoints would, then queue.

The source is a /query statement or a /select body without paging; the target a table and a mode.
Each side's connToken, grant and driver go through resolve.py, the source statement through
plan.py and the target table through the identifier rules, all before anything is queued, with
the synchronous endpoints' 400s. Roles: a statement source needs /query's, a table source
/select's; writing needs /insert's, and `create` and `replace` (DDL) FULL and up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...app_state import Services, services
from ...auth import roles
from ...auth.guard import Principal, current, needs
from ...drivers.base import Target
from ...sql.identifiers import parse_path
from ...sql.shapes import shape_of
from ...sql.statements import Place
from ...telemetry.requestlog import note_target
from .. import plan
from ..jobs.submit import queue_job, seconds
from ..resolve import resolve_declared

BATCH_DEFAULT = 5000


@dataclass(frozen=True)
class Sides:
    """A transfer's two targets, resolved and checked for its submitter."""

    source: Target
    target: Target
    table: tuple[str, ...]  # the target table's path, schema first when given


def submit(body: dict[str, Any]) -> dict[str, Any]:
    svc, principal = services(), current()
    settings = svc.settings
    timeout = seconds(body, "timeout", settings.job_timeout, settings.job_max_timeout)
    retain = seconds(body, "retain", settings.job_retain, settings.job_max_retain)
    sides = check(svc, principal, body)
    note_target(sides.source.name)
    stored = {key: value for key, value in body.items() if key not in ("timeout", "retain")}
    stored.setdefault("batchSize", BATCH_DEFAULT)
    stored["target"] = {"mode": "append", **body["target"]}
    source = body["source"]
    shape = {
        "source": shape_of("query" if "statement" in source else "select", source),
        "target": {"table": body["target"]["table"], "mode": stored["target"]["mode"]},
        "target_connection_id": sides.target.connection_id,
    }
    return queue_job(svc, principal, "transfer", sides.source, stored, timeout, retain, shape)


def check(svc: Services, principal: Principal, body: dict[str, Any]) -> Sides:
    """Both sides for `principal`: grants, roles, drivers, the source statement and the target
    table. Run at submit time and again when the job starts (grants may have changed)."""
    source_body, target_body = body["source"], body["target"]
    statement = bool(source_body.get("statement"))
    needs(principal, roles.QUERY if statement else roles.SELECT, "read the source")
    mode = target_body.get("mode") or "append"
    # create and replace run DDL: FULL and up, as /query.
    needs(principal, roles.INSERT if mode == "append" else roles.QUERY, f"{mode} the target")
    source = resolve_declared(svc, principal, source_body["token"], source_body.get("driver"))
    target = resolve_declared(svc, principal, target_body["token"], target_body.get("driver"))
    if statement:
        plan.query(source_body)
    else:
        where = source_place(source)
        plan.select(where, source_body).statement(where)  # checks table, fields, filter, sort
    table = parse_path(
        target_body["table"], "target.table", 3 if target.driver.name == "mssql" else 2
    )
    return Sides(source, target, table)


def source_place(source: Target) -> Place:
    """A transfer reads every row: no DBCONNECTOR_SELECT_MAX_ROWS cap."""
    return Place(source.driver.name, source.default_schema, 0)
