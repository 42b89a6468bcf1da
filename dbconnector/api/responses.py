"""What each endpoint answers on success, as JSON Schema, for the OpenAPI document.

A view declares its success body with `@responds(SCHEMA)` above its route decorators (another
media type with `media=`; `flood=("address", ...)` for the flood limits of auth/limiter.py that
wrap a view not behind `@requires`, whose per-user limit holds already; 201 comes from
`@creates`). The OpenAPI builder puts it in the
document and the tests check real answers against it, so a view whose body drifts from its
declaration fails `make test`. A new endpoint (an /admin one, say) needs nothing more than this
decorator; a test refuses an operation whose success body is undocumented.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
JSON = "application/json"


def responds(
    schema: dict[str, Any],
    *,
    media: str = JSON,
    flood: tuple[str, ...] = (),
    status: str | None = None,
    also: dict[str, dict[str, Any]] | None = None,
    errors: dict[str, str] | None = None,
) -> Callable[[F], F]:
    """`status`: the success status when not 200/201; `also`: more media types the success may
    come as (media -> schema); `errors`: statuses beyond the common ones (status -> meaning)."""

    def mark(view: F) -> F:
        view.dbc_response = (media, schema)  # type: ignore[attr-defined]
        view.dbc_flood = flood  # type: ignore[attr-defined]
        view.dbc_status = status  # type: ignore[attr-defined]
        view.dbc_also = also or {}  # type: ignore[attr-defined]
        view.dbc_errors = errors or {}  # type: ignore[attr-defined]
        return view

    return mark


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


_INT = {"type": "integer"}
_STR = {"type": "string"}
_NULLABLE_STR = {"type": "string", "nullable": True}
_BOOL = {"type": "boolean"}

EMPTY = {"type": "object", "maxProperties": 0}
NO_DATA = _object({"error": {"type": "string", "enum": ["No Data"]}})

TOKENS = _object({"userid": _INT, "authToken": _STR, "refreshToken": _STR})
USER = _object(
    {
        "ID": _INT,
        "Username": _STR,
        "Password": {"type": "string", "enum": ["*****"]},
        "IPAddresses": _NULLABLE_STR,
        "Enabled": _BOOL,
        "Role": _INT,
        "TTL": _NULLABLE_STR,
    }
)
USERS = _array(USER)
USER_ID = _object({"id": _INT})
_CONNECTION_PROPERTIES = {
    "ID": _INT,
    "Token": _STR,
    "Name": _STR,
    "Description": _NULLABLE_STR,
    "ConnectionString": _STR,
    "Enabled": _BOOL,
    "Count": _INT,
    "LastUse": {"type": "string", "nullable": True, "format": "date-time"},
}
CONNECTIONS = _array(_object(_CONNECTION_PROPERTIES))
GRANTED_CONNECTIONS = _array(
    _object({"Username": _STR, "userid": _INT, "connid": _INT, **_CONNECTION_PROPERTIES})
)
CONN_TOKEN = _object({"connToken": _STR})

_ROW = {"type": "object", "description": "column name -> value"}
ROWS = _array(_ROW)
# One result set: its rows; none or several: an array of arrays of rows.
RESULT_SETS = {"type": "array", "items": {"anyOf": [_ROW, _array(_ROW)]}}
INSERTED = {
    "oneOf": [
        _object({"Identity": {"nullable": True, "anyOf": [_INT, _STR, {"type": "number"}]}}),
        _object({"result": {"type": "string", "enum": ["success"]}}),
    ]
}
UPDATED = _object({"Updated": _INT})
DELETED = _object({"Deleted": _INT})
PROCEDURE = {
    "anyOf": [
        RESULT_SETS,
        _object({"result": RESULT_SETS, "output": {"type": "object"}}),
    ]
}

# Async jobs (api/jobs.py).
_TIME = {"type": "string", "nullable": True, "format": "date-time"}
_JOB_STATUS = {
    "type": "string",
    "enum": ["queued", "running", "succeeded", "failed", "cancelled", "expired"],
}
JOB_SUBMITTED = _object({"jobId": {"type": "string", "format": "uuid"}, "status": _JOB_STATUS})
JOB = _object(
    {
        "jobId": {"type": "string", "format": "uuid"},
        "kind": {"type": "string", "enum": ["select", "query", "exec", "transfer"]},
        "driver": _STR,
        "connection": _STR,
        "status": _JOB_STATUS,
        "createdAt": _TIME,
        "startedAt": _TIME,
        "completedAt": _TIME,
        "expiresAt": _TIME,
        "durationMs": {"type": "integer", "nullable": True},
        "resultSets": _INT,
        "rows": _INT,
        "error": _NULLABLE_STR,
        # Transfers only: rows read from the source and written to the target so far.
        "progress": _object({"rowsRead": _INT, "rowsWritten": _INT}),
    },
    required=[
        "jobId",
        "kind",
        "driver",
        "connection",
        "status",
        "createdAt",
        "startedAt",
        "completedAt",
        "expiresAt",
        "durationMs",
        "resultSets",
        "rows",
        "error",
    ],
)
JOBS = _array(JOB)
JOB_CANCELLED = _object({"status": {"type": "string", "enum": ["cancelled"]}})
_COLUMNS = _array(
    _object(
        {
            "name": _STR,
            "type": _STR,
            "format": {
                "type": "string",
                "enum": [
                    "string",
                    "integer",
                    "number",
                    "boolean",
                    "date",
                    "timestamp",
                    "time",
                    "binary",
                    "uuid",
                    "json",
                ],
            },
        }
    )
)
JOB_RESULTS = _object(
    {
        "resultSets": _array(_object({"index": _INT, "columns": _COLUMNS, "rows": _INT})),
        "output": {"type": "object", "nullable": True},
    }
)
JOB_PAGE = _object(
    {
        "columns": _COLUMNS,
        "rows": ROWS,
        "offset": _INT,
        "limit": _INT,
        "total": _INT,
        "next": _NULLABLE_STR,
    }
)
JOB_STREAMS = {"text/csv": _STR, "application/x-ndjson": _STR}

READY = _object({"metadata": _STR}, required=["metadata"])
READY["additionalProperties"] = _STR
DOCUMENT = _object({"openapi": _STR, "paths": {"type": "object"}})
PROMETHEUS = _STR
