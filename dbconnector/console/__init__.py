"""The admin console: server-rendered pages under /console/ for ADMIN and OWNER.

Plain HTML forms and one stylesheet of our own; no script at all, so the Content-Security-Policy
allows none. The pages act through the same operations as the REST API (manage/, the job calls)
and parse their forms with the API's own request schemas, so the rules, the messages and the
audit lines are the same; each audit line says it came through the console.
"""

from __future__ import annotations

from flask import Flask, Response

from . import audit, connections, dashboard, jobs, session, signin, users
from .pages import bp

# Styles and images from this service only (and the empty data: icon), forms posting only to
# it, nothing framed or run.
POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

__all__ = ["POLICY", "audit", "connections", "dashboard", "init_app", "jobs", "signin", "users"]


def init_app(app: Flask) -> None:
    """The console's blueprint, its cookie session (signed with the key ring) and its policy."""
    session.configure(app)
    app.register_blueprint(bp)


@bp.after_request
def _policy(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = POLICY
    return response
