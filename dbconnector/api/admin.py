"""GET /admin/ok: the container platform's heartbeat. No auth, no flood limit, no database."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__)


@bp.get("/admin/ok")
def heartbeat() -> dict:
    """200 {} while the process serves requests."""
    return {}
