"""Compiled /select statements, cached by shape, so a repeated request skips SQLAlchemy.

Building a Select, computing its cache key and setting up SQLAlchemy's execution context cost more
than the statement itself on a one-row select (bench/README.md). Requests from the same client
mostly repeat one shape with new values, so the SQL text is compiled once per shape and target
dialect and run with the driver's own paramstyle through exec_driver_sql.

The shape key holds everything the SQL text depends on: the table, fields and sort strings as
given, the filter's shape (filters.filter_shape: fields, operators, groups, list lengths), the
row limit and whether there is an offset. Values never enter the key and the text: the filter
values and the offset are bound parameters (v0, v1, ... and `off`), so a cached statement can only
ever run with a new request's values. A request is validated exactly as before: the shape walk
raises the filter's errors, and a shape is cached only after the full statement builder accepted
it (so an input the builder refuses is refused again, never served from the cache).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Select, bindparam
from sqlalchemy.engine import Dialect

from .filters import filter_shape
from .statements import Place, as_list, paging, select_statement

# Shapes kept per target dialect; a client rarely uses more than a handful. When full, the cache
# is emptied rather than tracked per entry: a refill costs one compile per live shape.
MAX_SHAPES = 512


@dataclass(frozen=True)
class CompiledSelect:
    """A /select body, read: the SQL text's key and the values it runs with."""

    key: tuple
    values: list[Any]
    offset: int
    read_limit: int  # the LIMIT the read runs with: the caller's, or probe_rows when larger
    whole: bool  # the caller asked for at most read_limit rows, so the read is the answer
    body: dict[str, Any]

    def statement(self, place: Place, read_limit: int | None = None) -> Select:
        """The statement through the full builder, which validates every part; with
        `read_limit`, limited to that many rows."""
        body = self.body
        statement = select_statement(
            place,
            body["table"],
            body.get("fields"),
            body.get("filter"),
            body.get("sort"),
            body.get("limit"),
            body.get("page"),
        )
        return statement if read_limit is None else statement.limit(read_limit)


def compile_select(place: Place, body: dict[str, Any], probe_rows: int) -> CompiledSelect:
    """Read a /select body to be run with at most `probe_rows` rows (fewer when the caller's
    limit is lower). Raises the filter's and paging's BadRequests; the table, field and sort
    strings are checked by the builder the first time their shape is seen."""
    sort = as_list(body.get("sort"), "sort")
    row_limit, offset = paging(bool(sort), body.get("limit"), body.get("page"), place.max_rows)
    shape, values = filter_shape(body.get("filter"))
    whole = row_limit is not None and row_limit < probe_rows
    read_limit = row_limit if whole else probe_rows
    key = (
        place,
        body["table"],
        tuple(as_list(body.get("fields"), "fields")),
        shape,
        tuple(sort),
        read_limit,
        bool(offset),
    )
    return CompiledSelect(key, values, offset, read_limit, whole, body)


@dataclass(frozen=True)
class Plan:
    """SQL text for one shape, and where each of its parameters comes from."""

    sql: str
    names: tuple[str, ...]  # parameter names in order (positional paramstyles) or as keys
    sources: tuple[tuple[Any, ...], ...]  # ("v", i), ("v", i, k), ("off",) or ("const", value)
    positional: bool

    def parameters(self, request: CompiledSelect) -> tuple | dict:
        values, offset = request.values, request.offset
        args = [_value(source, values, offset) for source in self.sources]
        return tuple(args) if self.positional else dict(zip(self.names, args, strict=True))


def _value(source: tuple[Any, ...], values: list[Any], offset: int) -> Any:
    kind = source[0]
    if kind == "v":
        value = values[source[1]]
        return value if len(source) == 2 else value[source[2]]
    if kind == "off":
        return offset
    return source[1]


class PlanCache:
    """Plans by shape key for one dialect: lock-free dict reads; two threads missing on one
    shape both compile it and store the same text."""

    def __init__(self) -> None:
        self._plans: dict[tuple, Plan] = {}

    def get(self, key: tuple) -> Plan | None:
        try:
            return self._plans.get(key)
        except TypeError:  # an unhashable field or sort entry, which the builder refuses
            return None

    def put(self, key: tuple, plan: Plan) -> None:
        if len(self._plans) >= MAX_SHAPES:
            self._plans = {}
        self._plans[key] = plan

    def __len__(self) -> int:
        return len(self._plans)


def compile_plan(dialect: Dialect, statement: Select, request: CompiledSelect) -> Plan:
    """Compile a statement built for `request` once for `dialect`, the offset bound by name."""
    if request.offset:
        statement = statement.offset(bindparam("off", request.offset, type_=Integer))
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    names = tuple(compiled.positiontup) if compiled.positiontup else tuple(params)
    sources = tuple(_source(name, params[name], len(request.values)) for name in names)
    return Plan(compiled.string, names, sources, bool(compiled.positiontup))


def _source(name: str, value: Any, count: int) -> tuple[Any, ...]:
    """Where a compiled parameter's value comes from: our v<i> (or v<i>_<k>, an IN list's k-th
    value, from 1), the offset, or a constant of the shape (a row limit)."""
    if name == "off":
        return ("off",)
    if name.startswith("v"):
        index, _, item = name[1:].partition("_")
        if index.isdigit() and int(index) < count and (not item or item.isdigit()):
            return ("v", int(index)) if not item else ("v", int(index), int(item) - 1)
    return ("const", value)


_caches: weakref.WeakKeyDictionary[Dialect, PlanCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_for(dialect: Dialect) -> PlanCache:
    """The plan cache of one engine's dialect (it goes with the engine)."""
    cache = _caches.get(dialect)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(dialect, PlanCache())
    return cache
