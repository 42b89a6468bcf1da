"""The handlers that give every failure its JSON body (the error classes are in errors.py).

Bodies follow the specification: 400/404/405/413/500 carry {"error": "..."}, 401 carries one of
three exact messages, 403 is an empty object, and flooding answers {"error": "No Data"}.
Nothing here ever echoes an exception's text from a driver or the standard library to a caller.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from flask_limiter import RateLimitExceeded
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from ..errors import ApiError, Forbidden

log = logging.getLogger(__name__)


def json_error(status: int, body: dict, headers: dict | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


METADATA_UNAVAILABLE = "The service's metadata database is unavailable; try again shortly"

_HTTP_MESSAGES = {
    400: "Malformed request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "The request body did not arrive in time (DBCONNECTOR_BODY_TIMEOUT)",
    413: "Request body too large",
    415: "Unsupported media type",
}


def init_app(app: Flask) -> None:
    """Register the JSON error handlers."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        if isinstance(exc, Forbidden):
            log.info("403: %s", exc.message)
        return json_error(exc.status, exc.body())

    @app.errorhandler(RateLimitExceeded)
    def _flooded(exc: RateLimitExceeded) -> Response:
        # The answer Flask-Limiter's on_breach hook made (auth/limiter.py), not its 429 page.
        return exc.get_response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = _HTTP_MESSAGES.get(status, exc.name)
        response = json_error(status, {"error": message})
        if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    def _metadata_unavailable(exc: Exception) -> Response:
        # Target failures never get here (runner.py turns them into ApiErrors), so this is the
        # metadata database: down, restarting, or out of connections. Its message can hold the
        # host, so it goes to the log at warning level and the caller gets only what happened.
        log.warning("metadata database unavailable: %s", type(exc).__name__)
        return json_error(503, {"error": METADATA_UNAVAILABLE}, {"Retry-After": "5"})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return json_error(500, {"error": "Internal Server Error"})
