"""ApiError classes: every failure a caller may see, with its status and safe message.

Bodies follow the specification: 400/404/405/413/500 carry {"error": "..."}, 401 carries one of
three exact messages, 403 is an empty object, and flooding answers {"error": "No Data"}.
Nothing here ever echoes an exception's text from a driver or the standard library to a caller.
"""

from __future__ import annotations

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


class SystemRoutine(Forbidden):
    """/exec named one of the database's own routines (a system schema's or an extension's,
    which run SQL text or read files) for a caller below FULL: 403 {}, audited."""

    def __init__(self, routine: str) -> None:
        super().__init__(f"{routine} is a system routine: FULL and up may run it")
        self.routine = routine


class TargetError(ApiError):
    """The target database refused or failed a statement; `message` is already cleaned."""

    status = 400


class TargetUnavailable(ApiError):
    """The target database could not be reached (connect failure or timeout)."""

    status = 503


class Missing(ApiError):
    """A 404 for a record the caller may not know exists (an async job): the same answer whether
    it does not exist or belongs to someone else."""

    status = 404


class Conflict(ApiError):
    """409: the record is not in a state that allows the call; `details` join the body."""

    status = 409

    def __init__(self, message: str, **details: str) -> None:
        super().__init__(message)
        self.details = details

    def body(self) -> dict:
        return {"error": self.message, **self.details}


class Gone(ApiError):
    """410: what was asked for existed and has been deleted (an expired job's results)."""

    status = 410
