"""The six execution operations, each from a validated body to its answer: resolve the connToken
(resolve.py), write the audit line (the call's shape, never its values), compile (plan.py), run
(run.py). The views in api/execute.py are one line into here."""

from __future__ import annotations

from typing import Any

from flask import Response

from ..app_state import Services, services
from ..auth.guard import current
from ..drivers.base import Target
from ..errors import SystemRoutine
from ..sql.shapes import shape_of
from ..sql.statements import Place
from ..telemetry.requestlog import audit, auditing, note_target
from . import plan, run
from .resolve import resolve


def select(driver: str, body: dict[str, Any]) -> Response:
    svc, target, where = _prepare("select", driver, body)
    return run.select(svc, target, where, plan.select(where, body))


def insert(driver: str, body: dict[str, Any]) -> dict[str, Any]:
    svc, target, where = _prepare("insert", driver, body)
    statement, rows = plan.insert(where, body)
    return run.insert(svc, target, statement, rows)


def update(driver: str, body: dict[str, Any]) -> dict[str, Any]:
    svc, target, where = _prepare("update", driver, body)
    return run.update(svc, target, plan.update(where, body))


def delete(driver: str, body: dict[str, Any]) -> dict[str, Any]:
    svc, target, where = _prepare("delete", driver, body)
    return run.delete(svc, target, plan.delete(where, body))


def query(driver: str, body: dict[str, Any]) -> Response:
    svc, target, _ = _prepare("query", driver, body)
    return run.query(svc, target, plan.query(body))


def call(driver: str, body: dict[str, Any]) -> Response:
    svc, target, _ = _prepare("exec", driver, body)
    try:
        return run.call(svc, target, plan.call(body, current().role))
    except SystemRoutine as refused:
        audit("execute.refused", connection=target.name, procedure=refused.routine)
        raise


def _prepare(kind: str, driver: str, body: dict[str, Any]) -> tuple[Services, Target, Place]:
    svc = services()
    target = resolve(svc, current(), body["token"], driver)
    note_target(target.name)
    if auditing():
        audit(
            f"execute.{kind}",
            connection=target.name,
            connection_id=target.connection_id,
            driver=target.driver.name,
            shape=shape_of(kind, body),
        )
    return svc, target, plan.place(target, svc.settings.select_max_rows)
