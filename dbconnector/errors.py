"""ApiError classes and the handlers that give every failure its JSON body.

Bodies follow the specification: 400/404/405/413/500 carry {"error": "..."}, 401 carries one of
three exact messages, 403 is an empty object, and flooding answers {"error": "No Data"}.
Nothing here ever echoes an exception's text from a driver or the standard library to a caller.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# The specification's exact 401 messages (not secrets).
MISSING_TOKEN = "Missing Authentication Token"  # noqa: S105
EXPIRED_TOKEN = "Expired Token"  # noqa: S105
BAD_TOKEN = "Bad Token"  # noqa: S105
FLOOD = "No Data"


class ApiError(Exception):
    """An error a caller caused or must know about; `message` is safe to show."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def body(self) -> dict:
        return {"error": self.message}


class BadRequest(ApiError):
    status = 400


class NotFound(ApiError):
    """A named record does not exist. The original service answered 400 here; so do we."""

    status = 400

    def __init__(self, message: str = "Not Found") -> None:
        super().__init__(message)


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    """403 with an empty body: the specification gives callers no detail; the log does."""

    status = 403

    def __init__(self, reason: str = "forbidden") -> None:
        super().__init__(reason)

    def body(self) -> dict:
        return {}


class Flooded(ApiError):
    """Too many calls: the specification's HTTP 200 {"error": "No Data"}, with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(FLOOD)
        self.retry_after = retry_after


class TargetError(ApiError):
    """The target database refused or failed a statement; `message` is already cleaned."""

    status = 400


class TargetUnavailable(ApiError):
    """The target database could not be reached (connect failure or timeout)."""

    status = 503


def json_error(status: int, body: dict, headers: dict | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def flood_response(retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return json_error(current_app.config["DBC_SETTINGS"].flood_status, {"error": FLOOD}, headers)


METADATA_UNAVAILABLE = "The service's metadata database is unavailable; try again shortly"

_HTTP_MESSAGES = {
    400: "Malformed request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request body too large",
    415: "Unsupported media type",
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        if isinstance(exc, Flooded):
            from .metrics import count_flood_refusal  # metrics imports this module

            count_flood_refusal()
            return flood_response(exc.retry_after)
        if isinstance(exc, Forbidden):
            log.info("403: %s", exc.message)
        return json_error(exc.status, exc.body())

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
