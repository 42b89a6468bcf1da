"""What /v1/openapi.json adds for a reader of /v1/docs: tags, the error bodies of each group of
endpoints, and examples from the specification (its testTable rows, its filter array forms)."""

from __future__ import annotations

from typing import Any

from ..store.seed import DEMO_PASSWORD, DEMO_TOKEN, DEMO_USERNAME, TEST_TABLE_ROWS

TAGS = [
    {"name": "auth", "description": "Log in and refresh: an authToken for the other calls"},
    {"name": "users", "description": "Users of the service (ADMIN, OWNER)"},
    {"name": "connections", "description": "Stored connection strings and their grants"},
    {"name": "execution", "description": "Select, insert, update, delete, query and exec"},
    {"name": "jobs", "description": "Async select, query and exec: submit, watch, cancel, read"},
    {"name": "admin", "description": "Heartbeat, readiness and metrics, for operators"},
    {"name": "docs", "description": "This documentation"},
]
_TAG_OF_BLUEPRINT = {"execute": "execution", "metrics": "admin", "openapi": "docs"}


def tag_of(endpoint: str) -> str:
    """'connections.grant' -> 'connections'; the execution blueprint is 'execution'."""
    blueprint = endpoint.split(".", 1)[0]
    return _TAG_OF_BLUEPRINT.get(blueprint, blueprint)


_AUTHENTICATED = (
    '401 {"error": "Missing Authentication Token"}, {"error": "Expired Token"} or '
    '{"error": "Bad Token"}; 403 {} for a role not listed, a call from outside the user\'s IP '
    "allowlist or a disabled user"
)
_EXECUTION = (
    _AUTHENTICATED + ", or a connection not granted to the caller; 400 "
    '{"error": "connToken not found"}, {"error": "This connection is disabled"}, or the '
    "database's own words for a statement it refused; 503 when the target cannot be reached"
)
_JOB_SUBMIT = _EXECUTION + (
    '; with DBCONNECTOR_JOB_BROKER_URL, 503 {"error": "The job queue is unreachable: try again '
    'later"} (nothing is stored)'
)
ERRORS = {
    "auth.login": '401 {"error": "Invalid username or password"} (an unknown user, a wrong '
    "password, a disabled user and a call from outside its IP allowlist alike)",
    "auth.refresh": '401 {"error": "Bad Token"} for a refresh token that is unknown, expired, not '
    "issued with this authToken, or already spent (a reuse, which also revokes every token of "
    "the user)",
    "users": _AUTHENTICATED + '; 400 {"error": "Not Found"} for an unknown user, '
    '{"error": "Username already exists."}',
    "connections": _AUTHENTICATED + '; 400 {"error": "connToken not found"}, '
    '{"error": "Not Found"} for an unknown name or user, '
    '{"error": "A connection with that name already exists."}',
    "execution": _EXECUTION,
    "jobs.submit_select": _JOB_SUBMIT,
    "jobs.submit_query": _JOB_SUBMIT,
    "jobs.submit_exec": _JOB_SUBMIT,
    "jobs": _AUTHENTICATED + '; 404 {"error": "Job not found"} for an unknown job or another '
    'user\'s; 409 {"error", "status"} for results before the job ends or a cancel after it (or '
    "while it commits); 410 for results that expired or were deleted; 403 {} for results whose "
    "submitter was disabled or lost the grant",
}
# The original service's own messages, as 400 examples.
BAD_REQUESTS = {
    "execute.select": ["Missing table in payload", "Paged query must have sort/order"],
    "execute.insert": ["Insert must have fields defined", "Insert must have field values defined"],
    "execute.update": ["Update must have a filter defined"],
    "execute.delete": ["Delete must have a filter defined"],
    "execute.query": ["Missing statement"],
    "execute.exec_procedure": ["Missing procname in payload"],
}


def errors_of(endpoint: str) -> str | None:
    return ERRORS.get(endpoint) or ERRORS.get(tag_of(endpoint))


_COLUMNS = ("ID", "Name", "Address", "Sex", "Age")
TEST_TABLE = [dict(zip(_COLUMNS, row, strict=True)) for row in TEST_TABLE_ROWS]


def _example(summary: str, value: Any) -> dict[str, Any]:
    return {"summary": summary, "value": value}


def _select(summary: str, **body: Any) -> dict[str, Any]:
    return _example(summary, {"token": DEMO_TOKEN, "table": "testTable", **body})


REQUESTS: dict[str, dict[str, dict[str, Any]]] = {
    "auth.login": {
        "demo": _example("The demo user", {"username": DEMO_USERNAME, "password": DEMO_PASSWORD})
    },
    "execute.select": {
        "all": _select("Every row of testTable"),
        "paged": _select("Page 0 of 3 rows, sorted", sort=["ID DESC", "Name"], limit=3, page=0),
        "equals": _select("Equal, and not equal", filter=[{"Sex": "Male"}, {"!Age": 30}]),
        "like": _select(
            "Starts with, ends with, contains",
            filter=[{"Name": "David%"}, {"^Address": "%Boston"}, {"^Name": "%Ubana%"}],
        ),
        "in": _select("In a list", fields=["ID", "Name"], filter=[{"ID": [1, 2, 3]}]),
        "or": _select(
            "OR joins, in array order", filter=[{"Name": "a"}, {"^Name": "b"}, {"^Name": "c"}]
        ),
        "null": _select("IS NULL / IS NOT NULL", filter=[{"!Address": None}]),
        "compare": _select("Comparisons", filter=[{">=Age": 21}, {"<ID": 5}]),
        "group": _select(
            "A parenthesised group", filter=[{"Sex": "Female"}, [{"ID": 4}, {"^ID": 8}]]
        ),
    },
    "execute.insert": {
        "one": _select("One row", fields=["Name", "Age"], values=[["Mike", 30]]),
        "several": _select(
            "Several rows", fields=["Name", "Age"], values=[["Ann", 22], ["Bob", 23]]
        ),
    },
    "execute.update": {
        "one": _select("By ID", values={"Age": 22}, filter=[{"ID": 1}]),
    },
    "execute.delete": {
        "one": _select("By ID", filter=[{"ID": 8}]),
    },
    "execute.query": {
        "one": _example(
            "A statement with args",
            {
                "token": DEMO_TOKEN,
                "statement": "SELECT * FROM {table} WHERE Age > 20",
                "args": {"table": "testTable"},
            },
        ),
    },
}
RESPONSES: dict[str, Any] = {
    "execute.select": TEST_TABLE,
    "execute.insert": {"Identity": 9},
    "execute.update": {"Updated": 1},
    "execute.delete": {"Deleted": 1},
    "connections.find_connection": {"connToken": DEMO_TOKEN},
}
