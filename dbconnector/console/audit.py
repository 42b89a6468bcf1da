"""Audit: the stored audit lines, newest first, filtered by user and action, paged."""

from __future__ import annotations

from typing import Any

from flask import request

from ..store import audit as audit_store
from ..store import users as user_store
from ..store.db import read
from .pages import PAGE_SIZE, bp, number, page, services

# The actions the filter offers; a prefix ending in "." takes every action under it.
ACTIONS = (
    "user.",
    "user.create",
    "user.update",
    "user.delete",
    "connection.",
    "connection.create",
    "connection.update",
    "connection.delete",
    "grant.",
    "grant.add",
    "grant.remove",
    "job.",
    "job.cancel",
    "job.delete",
    "console.",
    "console.sign_in",
    "console.sign_out",
)


@bp.get("/audit")
def audit() -> Any:
    who = request.args.get("user", "").strip()
    action = request.args.get("action", "")
    before = number("before") or None
    with read(services().engine) as conn:
        actor = user_store.get(conn, who) if who else None
        lines = (
            []
            if who and actor is None
            else audit_store.page(
                conn,
                actor_id=actor.id if actor else None,
                action=action if action in ACTIONS else None,
                before=before,
                limit=PAGE_SIZE,
            )
        )
        names = user_store.names(conn, {line.actor_id for line in lines if line.actor_id})
    return page(
        "audit.html",
        lines=lines,
        names=names,
        actions=ACTIONS,
        action=action,
        who=who,
        unknown_user=bool(who and actor is None),
        older=lines[-1].id if len(lines) == PAGE_SIZE else None,
    )
