"""Filter arrays ("Where Arrays" in the specification) -> a SQLAlchemy WHERE expression.

    [{"Name": "david"}, {"^Name": "mike%"}, {"!Age": [20, 21]}, {">=Age": 18}, [{"Sex": null}]]

Each object holds one or more predicates, taken in order. A key is a field name with prefixes:
`^` joins the predicate with OR instead of AND, `!` negates it, and `>`, `>=`, `<`, `<=` compare.
The value picks the operator: a string with a leading or trailing `%` is LIKE, a list is IN, null
is IS NULL, anything else is =. A nested array is a parenthesised group joined with AND to what
precedes it; {"^": [...]} joins a group with OR. Predicates are joined in array order without
added parentheses, as in the original service, so `a AND b OR c` means `(a AND b) OR c`.

Values always become bound parameters; field names go through identifiers.py, so no input can
change the statement's shape.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_
from sqlalchemy.types import NullType

from ..errors import BadRequest
from .identifiers import column_clause

_KEY = re.compile(r"^(\^?)(!?)(>=|<=|>|<)?(.*)$", re.DOTALL)
_COMPARE = {
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
}
MAX_PREDICATES = 1000
MAX_DEPTH = 16

Scalar = str | int | float | Decimal | bool


def value_param(value: Any) -> Any:
    """A bound parameter of no declared type: the database, not the driver, casts it."""
    return bindparam(None, bind_value(value), type_=NullType())


def bind_value(value: Any) -> Any:
    """JSON values as the drivers take them; objects and arrays travel as JSON text."""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return value


def compile_filter(spec: Any) -> ColumnElement[bool] | None:
    """The WHERE expression for a filter array, or None when there is nothing to filter on."""
    if spec is None:
        return None
    if isinstance(spec, dict):
        spec = [spec]
    if not isinstance(spec, list):
        raise BadRequest("filter must be an array of objects")
    counter = [0]
    return _group(spec, counter, 0)


def _group(items: list, counter: list[int], depth: int) -> ColumnElement[bool] | None:
    if depth > MAX_DEPTH:
        raise BadRequest(f"filter nests deeper than {MAX_DEPTH} groups")
    chains: list[list[ColumnElement[bool]]] = []
    for item in items:
        for use_or, predicate in _predicates(item, counter, depth):
            if predicate is None:
                continue
            if use_or and chains:
                chains.append([predicate])
            elif chains:
                chains[-1].append(predicate)
            else:
                chains.append([predicate])
    if not chains:
        return None
    terms = [chain[0] if len(chain) == 1 else and_(*chain) for chain in chains]
    return terms[0] if len(terms) == 1 else or_(*terms)


def _predicates(item: Any, counter: list[int], depth: int):  # type: ignore[no-untyped-def]
    """(joins with OR?, expression) for each predicate in one filter array element."""
    if isinstance(item, list):
        yield False, _group(item, counter, depth + 1)
        return
    if not isinstance(item, dict):
        raise BadRequest('filter entries must be objects like {"field": value}')
    for key, value in item.items():
        counter[0] += 1
        if counter[0] > MAX_PREDICATES:
            raise BadRequest(f"filter has more than {MAX_PREDICATES} predicates")
        if key == "^":
            if not isinstance(value, list):
                raise BadRequest("filter group '^' needs an array")
            yield True, _group(value, counter, depth + 1)
            continue
        yield _predicate(key, value)


def _predicate(key: str, value: Any) -> tuple[bool, ColumnElement[bool]]:
    match = _KEY.match(key)
    assert match is not None  # the pattern matches every string
    use_or, negate = match.group(1) == "^", match.group(2) == "!"
    compare, field = match.group(3), match.group(4)
    col = column_clause(field, "filter field")
    if compare:
        if negate:
            raise BadRequest(f"filter key '{key}': '!' cannot be combined with a comparison")
        if value is None or isinstance(value, list | dict | bool):
            raise BadRequest(f"filter key '{key}': a comparison needs a number or a string")
        return use_or, _COMPARE[compare](col, value_param(value))
    if value is None:
        return use_or, col.is_not(None) if negate else col.is_(None)
    if isinstance(value, list):
        return use_or, _membership(key, col, value, negate)
    if isinstance(value, dict):
        raise BadRequest(
            f"filter key '{key}': the value must be a string, number, boolean, null or an array"
        )
    if isinstance(value, str) and (value.startswith("%") or value.endswith("%")):
        pattern = value_param(value)
        return use_or, col.not_like(pattern) if negate else col.like(pattern)
    param = value_param(value)
    return use_or, col != param if negate else col == param


def _membership(key: str, col: Any, values: list, negate: bool) -> ColumnElement[bool]:
    if any(isinstance(v, list | dict) for v in values):
        raise BadRequest(f"filter key '{key}': a list may hold only strings, numbers and booleans")
    present = [v for v in values if v is not None]
    with_null = len(present) != len(values)
    if not present:  # [] matches nothing; [null] is IS NULL
        if with_null:
            return col.is_not(None) if negate else col.is_(None)
        return col.is_not(None) | col.is_(None) if negate else col.is_(None) & col.is_not(None)
    param = bindparam(None, present, type_=NullType(), expanding=True)
    if negate:
        expr = col.not_in(param)
        return and_(expr, col.is_not(None)) if with_null else expr
    expr = col.in_(param)
    return or_(expr, col.is_(None)) if with_null else expr
