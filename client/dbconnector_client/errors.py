"""Exceptions carrying the service's own `error` text, one class per kind of refusal."""

from __future__ import annotations

from typing import Any


class DBConnectorError(Exception):
    """Any answer the service refused; `status` is the HTTP status, `error` its `error` text."""

    def __init__(self, status: int, error: str, body: Any = None) -> None:
        super().__init__(f"{status}: {error}" if error else str(status))
        self.status = status
        self.error = error
        self.body = body


class BadRequest(DBConnectorError):
    """400: bad input, or a statement the database refused (in the database's words)."""


class Unauthorized(DBConnectorError):
    """401: a missing, expired or bad token, or a failed login."""


class RefreshRejected(Unauthorized):
    """The service refused the refresh token (spent, revoked or expired) and no login could
    replace it. A spent one means a copy was used: the service then revoked every token of the
    user, so only a fresh login works again."""


class Forbidden(DBConnectorError):
    """403 {}: the role, the IP allowlist, a disabled user or a missing grant."""


class Flooded(DBConnectorError):
    """{"error": "No Data"} still answered after `max_retries` waits of Retry-After."""

    def __init__(self, status: int, error: str, retry_after: float) -> None:
        super().__init__(status, error)
        self.retry_after = retry_after


class ServiceUnavailable(DBConnectorError):
    """503 (the target database is unreachable), or the service itself could not be reached."""


def error_for(status: int, body: Any) -> DBConnectorError:
    """The exception for a refused answer."""
    # A body that is not JSON is a proxy's or gunicorn's own page.
    error = str(body.get("error", "")) if isinstance(body, dict) else str(body or "")[:200]
    kinds: dict[int, type[DBConnectorError]] = {
        400: BadRequest,
        401: Unauthorized,
        403: Forbidden,
        503: ServiceUnavailable,
    }
    return kinds.get(status, DBConnectorError)(status, error, body)
