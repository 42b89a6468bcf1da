"""GET /v1/openapi.json: an OpenAPI 3 document generated from the routes and the same marshmallow
schemas that validate requests, so the document cannot drift from what the service accepts."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app

from ..lib.roles import Role
from . import openapi_examples as examples
from .fields import Flag, WholeNumber
from .responses import DOCUMENT, EMPTY, JSON, NO_DATA, responds

bp = Blueprint("openapi", __name__)

# Blueprints serving HTML pages rather than the JSON API: not in the document.
NOT_API = {"console"}
_PATH_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


_COMMON_RESPONSES = {
    "400": _error('Bad request: {"error": "..."}'),
    "401": _error(
        'Exactly {"error": "Missing Authentication Token"}, {"error": "Expired Token"} '
        'or {"error": "Bad Token"}'
    ),
    "403": {
        "description": "Forbidden: {} (role, IP allowlist, disabled user or missing grant)",
        "content": {JSON: {"schema": EMPTY}},
    },
    "404": _error('No such path: {"error": "Not Found"}'),
    "405": _error('Method not allowed: {"error": "Method Not Allowed"}'),
    "413": _error('Body over DBCONNECTOR_MAX_BODY_BYTES: {"error": "..."}'),
    # gunicorn's own answer (limit_request_line), before the service sees the request.
    "414": {
        "description": "Request line over 4094 bytes: gunicorn's HTML page, not JSON",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
    "415": _error('A body that is not JSON: {"error": "Content-Type must be ..."}'),
    "500": _error('Unexpected failure: {"error": "..."} (never a stack trace)'),
    "503": _error('A target database or a dependency is unreachable: {"error": "..."}'),
}
_FLOODED = 'past a flood limit, {"error": "No Data"} with Retry-After (DBCONNECTOR_FLOOD_STATUS)'


def _roles_text(bits: int) -> str:
    return " | ".join(role.name or "" for role in Role if bits & role)


def build_spec(app: Flask) -> dict[str, Any]:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="DBConnector",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[plugin],
        info={
            "description": "A JSON REST gateway to SQL databases on a private network, "
            "compatible with the City of Boston DBConnector API."
        },
    )
    plugin.map_to_openapi_type(WholeNumber, "integer", None)
    plugin.map_to_openapi_type(Flag, "integer", None)
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )

    for tag in examples.TAGS:
        spec.tag(tag)

    flood_status = str(app.config["DBC_SETTINGS"].flood_status)
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static" or rule.endpoint.partition(".")[0] in NOT_API:
            continue
        view = app.view_functions[rule.endpoint]
        path = _PATH_PARAM.sub(r"{\1}", rule.rule)
        # A rule's defaults (the docs page's script names) count as arguments, not in its path.
        arguments = rule.arguments - set(rule.defaults or {})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = _operation(view, arguments, flood_status)
            _explain(operation, rule.endpoint)
            paths.setdefault(path, {})[method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _explain(operation: dict[str, Any], endpoint: str) -> None:
    """The tag, the error bodies and the specification's examples, for /v1/docs."""
    operation["tags"] = [examples.tag_of(endpoint)]
    errors = examples.errors_of(endpoint)
    if errors:
        operation["description"] = f"{operation.get('description', '')} Errors: {errors}.".strip()
    body = operation.get("requestBody", {}).get("content", {}).get(JSON)
    if body is not None and endpoint in examples.REQUESTS:
        body["examples"] = examples.REQUESTS[endpoint]
    responses = operation["responses"]
    if endpoint in examples.RESPONSES:
        success = responses.get("201") or responses["200"]
        success["content"][JSON] = {
            **success["content"][JSON],
            "example": examples.RESPONSES[endpoint],
        }
    if endpoint in examples.BAD_REQUESTS:
        responses["400"] = {
            **responses["400"],
            "content": {
                JSON: {
                    "schema": _ERROR,
                    "examples": {
                        f"e{number}": {"value": {"error": message}}
                        for number, message in enumerate(examples.BAD_REQUESTS[endpoint])
                    },
                }
            },
        }


def _responses(view: Any, flood_status: str) -> dict[str, Any]:
    """The success answer (@responds, @creates) and, for flood-checked views, the flood answer;
    both may share a status (200 by default), so their schemas are then alternatives."""
    success = getattr(view, "dbc_status", None) or (
        "201" if getattr(view, "dbc_created", False) else "200"
    )
    media, schema = getattr(view, "dbc_response", (JSON, None))
    answers: dict[str, list[tuple[str, str, Any]]] = {success: [("Success", media, schema)]}
    for kind, body in getattr(view, "dbc_also", {}).items():
        answers[success].append((f"or as {kind}", kind, body))
    if getattr(view, "dbc_roles", None) is not None or getattr(view, "dbc_flood", False):
        answers.setdefault(flood_status, []).append((_FLOODED, JSON, NO_DATA))
    responses: dict[str, Any] = dict(_COMMON_RESPONSES)
    for status, meaning in getattr(view, "dbc_errors", {}).items():
        responses[status] = _error(meaning)
    for status, alternatives in answers.items():
        by_media: dict[str, list[Any]] = {}
        for _, kind, body in alternatives:
            by_media.setdefault(kind, []).append(body)
        content = {
            kind: {"schema": bodies[0] if len(bodies) == 1 else {"anyOf": bodies}}
            for kind, bodies in by_media.items()
            if None not in bodies
        }
        responses[status] = {"description": "; or ".join(a[0] for a in alternatives)}
        if content:
            responses[status]["content"] = content
    return responses


def _operation(view: Any, arguments: set[str], flood_status: str) -> dict[str, Any]:
    doc = (view.__doc__ or "").strip()
    summary, _, description = doc.partition("\n")
    operation: dict[str, Any] = {
        "summary": summary.strip(),
        "parameters": [
            {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
            for name in sorted(arguments)
        ],
        "responses": _responses(view, flood_status),
    }
    if description.strip():
        operation["description"] = " ".join(description.split())
    roles = getattr(view, "dbc_roles", None)
    if roles is not None:
        operation["security"] = [{"bearer": []}]
        operation["x-roles"] = _roles_text(roles)
        operation["description"] = (
            operation.get("description", "") + f" Permission: {_roles_text(roles)}."
        ).strip()
    schema_info = getattr(view, "dbc_schema", None)
    if schema_info is not None:
        schema, source = schema_info
        if source == "json":
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schema}},
            }
        else:
            operation["parameters"].append({"in": "query", "schema": schema})
    return operation


@responds(DOCUMENT)
@bp.get("/v1/openapi.json")
def openapi_document() -> dict[str, Any]:
    """This API as an OpenAPI 3 document."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    document = app.extensions.get("dbconnector.openapi")
    if document is None:
        document = app.extensions["dbconnector.openapi"] = build_spec(app)
    return document
