"""Operations endpoints, never rate limited and never authenticated.

GET /admin/ok: the container platform's heartbeat. No database, no Redis: a task is restarted
only when the process itself stops answering.
GET /admin/metrics: Prometheus text, for DBCONNECTOR_METRICS_ALLOWLIST addresses only.
GET /admin/ready: 200 only while every dependency answers (the metadata database, and Redis when
it holds the flood counters); a load balancer stops routing to an instance that is not ready
without killing it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from flask import Blueprint, Response

from ..auth.clientip import client_address, is_allowed
from ..errors import Forbidden
from ..execution.jobs.calls import observe as observe_jobs
from ..telemetry.metrics import exposition
from .common import services
from .responses import EMPTY, PROMETHEUS, READY, responds

bp = Blueprint("admin", __name__)
READY_TIMEOUT = 2.0
# Checks run here so one that hangs (a black-holed Redis) cannot hold the request past the
# timeout; two threads, so a stuck check never blocks the next probe's.
_checks = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dbc-ready")


@responds(EMPTY)
@bp.get("/admin/ok")
def heartbeat() -> dict:
    """200 {} while the process serves requests."""
    return {}


@responds(READY)
@bp.get("/admin/ready")
def ready() -> tuple[dict[str, Any], int]:
    """200 {"metadata": "ok", ...} when every dependency answers; 503 naming what does not."""
    svc = services()
    checks: dict[str, Callable[[], Any]] = {"metadata": lambda: _ping(svc.engine)}
    if svc.settings.ratelimit_storage_url.startswith("redis"):  # the one that is a server
        checks["ratelimit_storage"] = svc.flood.limiter.storage.check
    states = {name: _state(check) for name, check in checks.items()}
    if all(state == "ok" for state in states.values()):
        return states, 200
    return {"error": "Not ready", **states}, 503


@responds(PROMETHEUS, media="text/plain")
@bp.get("/admin/metrics")
def metrics() -> Response:
    """Prometheus text format; only for DBCONNECTOR_METRICS_ALLOWLIST addresses."""
    if not is_allowed(client_address(), services().settings.metrics_allowlist):
        raise Forbidden("metrics read from outside DBCONNECTOR_METRICS_ALLOWLIST")
    observe_jobs(services())
    body, media = exposition()
    return Response(body, mimetype=media)


def _ping(engine: Any) -> bool:
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    return True


def _state(check: Callable[[], Any]) -> str:
    try:
        answer = _checks.submit(check).result(timeout=READY_TIMEOUT)
    except FutureTimeout:
        return "timeout"
    except Exception:  # what failed is logged by no one else; the body names only the dependency
        return "unavailable"
    return "ok" if answer is not False else "unavailable"
