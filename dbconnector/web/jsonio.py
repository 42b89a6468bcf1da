"""JSON in and out.

Out: orjson, with exact decimals (written as JSON numbers with the database's digits), ISO 8601
dates, strings for UUIDs and base64 for bytes (see results.py for the database value rules).
In: the standard library parser with `parse_float=Decimal`, so a value like 12345678901234567.89
reaches the database with every digit; NaN and Infinity are refused.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import JSONProvider

from ..api.body import loads
from ..execution.results import dumps


class OrjsonProvider(JSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return dumps(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)

    def response(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(dumps(obj), mimetype="application/json")


def init_app(app: Flask) -> None:
    """JSON in and out through orjson, numbers kept exact."""
    app.json = OrjsonProvider(app)
