"""The stored audit trail: one row per admin change, newest first, for the console's audit page."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from .db import write
from .tables import audit_events

OK, REFUSED = "ok", "refused"


@dataclass(frozen=True)
class AuditLine:
    id: int
    at: dt.datetime
    action: str
    actor_id: int | None
    via: str
    address: str
    outcome: str
    details: dict[str, Any]


def add(engine: Engine, line: dict[str, Any]) -> None:
    """Keep one audit line: `line` has at, action, actor_id, via, address, outcome, request_id
    and details (a dict of ids and field names)."""
    row = {**line, "details": json.dumps(line["details"], default=str, sort_keys=True)}
    with write(engine) as conn:
        conn.execute(insert(audit_events), row)


def page(
    conn: Connection,
    *,
    actor_id: int | None,
    action: str | None,
    before: int | None,
    limit: int,
    outcome: str | None = None,
) -> Sequence[AuditLine]:
    """Up to `limit` lines older than id `before`, newest first; `action` matches exactly, or
    as a prefix when it ends with a dot ("user." finds user.create, user.update...)."""
    query = select(audit_events)
    if actor_id is not None:
        query = query.where(audit_events.c.actor_id == actor_id)
    if action:
        column = audit_events.c.action
        if action.endswith("."):
            query = query.where(column.startswith(action, autoescape=True))
        else:
            query = query.where(column == action)
    if outcome is not None:
        query = query.where(audit_events.c.outcome == outcome)
    if before is not None:
        query = query.where(audit_events.c.id < before)
    rows = conn.execute(query.order_by(audit_events.c.id.desc()).limit(limit)).all()
    return [
        AuditLine(
            row.id,
            row.at,
            row.action,
            row.actor_id,
            row.via,
            row.address,
            row.outcome,
            json.loads(row.details),
        )
        for row in rows
    ]
