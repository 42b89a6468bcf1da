"""Request bodies: the standard library parser with `parse_float=Decimal`, so a value like
12345678901234567.89 reaches the database with every digit; NaN and Infinity are refused."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Request

from ..errors import BadRequest


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(data: str | bytes) -> Any:
    return json.loads(data, parse_float=Decimal, parse_constant=_no_constants)


def request_body(request: Request, missing: str = "Missing payload") -> dict:
    """The request's JSON object, whatever its Content-Type (curl -d sends form encoding).

    An empty body raises `missing`; anything but a JSON object is a 400.
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadRequest(missing)
    try:
        body = loads(raw)
    except ValueError as exc:  # UnicodeDecodeError included
        if "integer string conversion" in str(exc):  # Python's cap on an integer's digits
            raise BadRequest("A number in the request body has too many digits") from None
        raise BadRequest("Malformed JSON in request body") from None
    except RecursionError:
        raise BadRequest("Malformed JSON in request body") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    return body
