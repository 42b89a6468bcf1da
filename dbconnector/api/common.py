"""Helpers shared by the views: request parsing into a schema, and answers from execution/ sent
as responses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Literal, TypeVar

from flask import Response, current_app, request
from marshmallow import Schema

from ..app_state import EXTENSION, Services
from ..execution.results import Answer
from .body import request_body
from .schemas import load

F = TypeVar("F", bound=Callable[..., Any])


def accepts(
    schema: type[Schema],
    source: Literal["json", "query"] = "json",
    missing: str = "Missing payload",
) -> Callable[[F], F]:
    """Validate the JSON body (or the query string) with `schema`; the view gets it as `data`."""

    instance = schema()  # marshmallow schemas hold no per-call state: build once, reuse

    def decorate(view: F) -> F:
        @wraps(view)
        def parsed(*args: Any, **kwargs: Any) -> Any:
            raw = request_body(request, missing) if source == "json" else request.args.to_dict()
            return view(*args, data=load(instance, raw), **kwargs)

        parsed.dbc_schema = (schema, source)  # type: ignore[attr-defined]  # for the OpenAPI builder
        return parsed  # type: ignore[return-value]

    return decorate


def services() -> Services:
    """The app's services (create_app keeps them in the app's extensions)."""
    return current_app.extensions[EXTENSION]


def sent(answer: Answer) -> Response:
    """An execution answer as the response: whole bytes with a Content-Length, chunks streamed."""
    return Response(answer.body, mimetype=answer.mimetype)


def creates(view: F) -> F:
    """Marks a view that answers 201 Created, for the OpenAPI document."""
    view.dbc_created = True  # type: ignore[attr-defined]
    return view
