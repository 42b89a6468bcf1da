"""What every request and answer carries, whatever the endpoint.

`Envelope` is WSGI middleware just below Flask (inside ProxyFix, so it sees the client's real
scheme). On the way in it gives the request its id (the caller's X-Request-ID when it is short
and plain, else a new one) and its start time; on the way out it adds X-Request-ID and the
security headers (http_policy.security_headers) to the answer. A request with a body is read
under a deadline (body_deadline.py). One Flask after_request hook,
`_account`, then writes the request line (requestlog) and counts the request (metrics).

Why at the WSGI layer rather than as Flask hooks: Flask hooks made /admin/ok several times as
costly as a bare Flask app (bench/README.md). Every hook dispatch re-checks whether
the hook is a coroutine, and every header set on a werkzeug Response is validated twice (when
set, and again when the answer's headers are copied for WSGI). These headers are constants or a
request id already checked against a strict pattern, so they are appended as they are
(gunicorn still checks every header it sends).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, g, request

from ..telemetry import metrics, requestlog
from ..telemetry.requestlog import REQUEST_ID, STARTED
from . import http_policy
from .body_deadline import watch_body

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Envelope:
    def __init__(self, app: WSGIApp, body_seconds: float = 0.0) -> None:
        self.app = app
        self.body_seconds = body_seconds

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request_id = requestlog.usable_request_id(environ.get("HTTP_X_REQUEST_ID"))
        if request_id is None:
            request_id = requestlog.new_request_id()
        environ[REQUEST_ID] = request_id
        environ[STARTED] = time.perf_counter()
        https = environ.get("wsgi.url_scheme") == "https"

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers = http_policy.security_headers(headers, https)
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        unwatch = watch_body(environ, self.body_seconds)
        if unwatch is None:
            return self.app(environ, start)
        try:
            return self.app(environ, start)
        finally:
            unwatch()


def init_app(app: Flask) -> None:
    """Wrap the app's WSGI callable (before ProxyFix wraps it) and account for every answer."""
    body_seconds = app.config["DBC_SETTINGS"].body_timeout
    app.wsgi_app = Envelope(app.wsgi_app, body_seconds)  # type: ignore[method-assign]
    app.after_request(_account)


def _account(response: Response) -> Response:
    # The real request and g once (each access through Flask's proxies costs a context lookup),
    # and g's __dict__, where a name the request never set costs no AttributeError.
    req, noted = request._get_current_object(), g.__dict__  # type: ignore[attr-defined]
    started = req.environ.get(STARTED)
    seconds = time.perf_counter() - started if started is not None else None
    requestlog.log_request(req, noted, response, seconds)
    metrics.count(
        req.url_rule.rule if req.url_rule else None,
        req.method,
        response.status_code,
        seconds,
        noted.get("dbc_rows"),
        noted.get("dbc_connection"),
    )
    return response
