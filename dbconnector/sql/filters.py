"""Filter arrays ("Where Arrays" in the specification) -> a SQLAlchemy WHERE expression.

    [{"Name": "david"}, {"^Name": "mike%"}, {"!Age": [20, 21]}, {">=Age": 18}, [{"Sex": null}]]

Each object holds one or more predicates, taken in order. A key is a field name with prefixes:
`^` joins the predicate with OR instead of AND, `!` negates it, and `>`, `>=`, `<`, `<=` compare.
The value picks the operator: a string with a leading or trailing `%` is LIKE, a list is IN, null
is IS NULL, anything else is =. A nested array is a parenthesised group joined with AND to what
precedes it; {"^": [...]} joins a group with OR. Predicates are joined in array order without
added parentheses, as in the original service, so `a AND b OR c` means `(a AND b) OR c`.

Values always become bound parameters; field names go through identifiers.py, so no input can
change the statement's shape. One walk (walk_filter) reads and validates the array and hands each
predicate to a builder: Expressions builds the SQLAlchemy expression, Shapes records only its
shape and values, which is what sql/plans.py needs to reuse a compiled statement.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_
from sqlalchemy.types import NullType

from ..errors import BadRequest
from .identifiers import column_clause, parse_path

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
    return walk_filter(spec, Expressions())


def filter_shape(spec: Any) -> tuple[Any, list[Any]]:
    """(shape, values) of a filter array, without building SQL: the shape is a hashable record of
    everything compile_filter's SQL depends on (fields, operators, groups, list lengths), the
    values are what compile_filter binds, in the order of its parameters v0, v1, ... Raises the
    same BadRequest as compile_filter for the same input."""
    shapes = Shapes()
    return walk_filter(spec, shapes), shapes.values


class Expressions:
    """Builds the SQLAlchemy expression. Parameters are named v0, v1, ... in walk order, so a
    statement compiled once can take another request's values of the same shape (sql/plans.py)."""

    def __init__(self) -> None:
        self._count = 0

    def _param(self, value: Any, expanding: bool = False) -> Any:
        name = f"v{self._count}"
        self._count += 1
        return bindparam(name, value, type_=NullType(), expanding=expanding)

    def column(self, field: str) -> Any:
        return column_clause(field, "filter field")

    def compare(self, op: str, col: Any, value: Any) -> Any:
        return _COMPARE[op](col, self._param(value))

    def null(self, col: Any, negate: bool) -> Any:
        return col.is_not(None) if negate else col.is_(None)

    def member(self, col: Any, present: list, with_null: bool, negate: bool) -> Any:
        if not present:  # [] matches nothing; [null] is IS NULL
            if with_null:
                return self.null(col, negate)
            return col.is_not(None) | col.is_(None) if negate else col.is_(None) & col.is_not(None)
        param = self._param(present, expanding=True)
        if negate:
            expr = col.not_in(param)
            return and_(expr, col.is_not(None)) if with_null else expr
        expr = col.in_(param)
        return or_(expr, col.is_(None)) if with_null else expr

    def like(self, col: Any, value: str, negate: bool) -> Any:
        pattern = self._param(value)
        return col.not_like(pattern) if negate else col.like(pattern)

    def equal(self, col: Any, value: Any, negate: bool) -> Any:
        param = self._param(value)
        return col != param if negate else col == param

    def all_of(self, terms: list) -> Any:
        return and_(*terms)

    def any_of(self, terms: list) -> Any:
        return or_(*terms)


class Shapes:
    """Records the shape and the bound values compile_filter would produce, in its order."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def column(self, field: str) -> str:
        parse_path(field, "filter field", 1)
        return field

    def compare(self, op: str, col: str, value: Any) -> tuple:
        self.values.append(value)
        return ("cmp", op, col)

    def null(self, col: str, negate: bool) -> tuple:
        return ("null", col, negate)

    def member(self, col: str, present: list, with_null: bool, negate: bool) -> tuple:
        if present:
            self.values.append(present)
        return ("in", col, len(present), with_null, negate)

    def like(self, col: str, value: str, negate: bool) -> tuple:
        self.values.append(value)
        return ("like", col, negate)

    def equal(self, col: str, value: Any, negate: bool) -> tuple:
        self.values.append(value)
        return ("eq", col, negate)

    def all_of(self, terms: list) -> tuple:
        return ("and", *terms)

    def any_of(self, terms: list) -> tuple:
        return ("or", *terms)


def walk_filter(spec: Any, build: Any) -> Any:
    """Validate a filter array and build it with `build` (Expressions or Shapes); None when there
    is nothing to filter on. The one place that reads filter arrays."""
    if spec is None:
        return None
    if isinstance(spec, dict):
        spec = [spec]
    if not isinstance(spec, list):
        raise BadRequest("filter must be an array of objects")
    return _group(spec, build, [0], 0)


def _group(items: list, build: Any, counter: list[int], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise BadRequest(f"filter nests deeper than {MAX_DEPTH} groups")
    chains: list[list[Any]] = []
    for item in items:
        for use_or, predicate in _predicates(item, build, counter, depth):
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
    terms = [chain[0] if len(chain) == 1 else build.all_of(chain) for chain in chains]
    return terms[0] if len(terms) == 1 else build.any_of(terms)


def _predicates(item: Any, build: Any, counter: list[int], depth: int):  # type: ignore[no-untyped-def]
    """(joins with OR?, expression) for each predicate in one filter array element."""
    if isinstance(item, list):
        yield False, _group(item, build, counter, depth + 1)
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
            yield True, _group(value, build, counter, depth + 1)
            continue
        yield _predicate(key, value, build)


def _predicate(key: str, value: Any, build: Any) -> tuple[bool, Any]:
    match = _KEY.match(key)
    assert match is not None  # the pattern matches every string
    use_or, negate = match.group(1) == "^", match.group(2) == "!"
    compare, field = match.group(3), match.group(4)
    col = build.column(field)
    if compare:
        if negate:
            raise BadRequest(f"filter key '{key}': '!' cannot be combined with a comparison")
        if value is None or isinstance(value, list | dict | bool):
            raise BadRequest(f"filter key '{key}': a comparison needs a number or a string")
        return use_or, build.compare(compare, col, value)
    if value is None:
        return use_or, build.null(col, negate)
    if isinstance(value, list):
        if any(isinstance(v, list | dict) for v in value):
            raise BadRequest(
                f"filter key '{key}': a list may hold only strings, numbers and booleans"
            )
        present = [v for v in value if v is not None]
        return use_or, build.member(col, present, len(present) != len(value), negate)
    if isinstance(value, dict):
        raise BadRequest(
            f"filter key '{key}': the value must be a string, number, boolean, null or an array"
        )
    if isinstance(value, str) and (value.startswith("%") or value.endswith("%")):
        return use_or, build.like(col, value, negate)
    return use_or, build.equal(col, value, negate)
