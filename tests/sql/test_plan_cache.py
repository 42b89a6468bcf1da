"""sql/plans.py: a /select compiled once per shape runs exactly the SQL and values the full
statement builder gives, on every dialect, and refuses exactly what the builder refuses."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Dialect

from dbconnector.errors import BadRequest
from dbconnector.sql.plan_cache import MAX_SHAPES, PlanCache, compile_plan, compile_select
from dbconnector.sql.statements import Place
from tests.sql.test_statement_shape_properties import (
    CHECKED,
    field_lists,
    filters,
    scalars,
    sorts,
    tables,
)
from tests.support.dialects import DIALECTS, render

PROBE = 1001


def planned(dialect: Dialect, cache: PlanCache, place: Place, body: dict) -> tuple[str, list]:
    """What the runner runs: (SQL with every marker written ?, the values in marker order)."""
    request = compile_select(place, body, PROBE)
    plan = cache.get(request.key)
    if plan is None:
        plan = compile_plan(dialect, request.statement(place, request.read_limit), request)
        cache.put(request.key, plan)
    params = plan.parameters(request)
    sql = " ".join(plan.sql.split())
    if plan.positional:
        return sql.replace("%s", "?"), list(params)
    names = sorted(plan.names, key=lambda name: sql.index(f"%({name})s"))
    for name in names:
        sql = sql.replace(f"%({name})s", "?")
    return sql, [params[name] for name in names]


def reference(place: Place, body: dict) -> tuple[str, list]:
    """The full builder's SQL and values (BadRequest when it refuses the body)."""
    request = compile_select(place, body, PROBE)
    return render(request.statement(place, request.read_limit), place.dialect)


def outcome(run: Any) -> Any:
    try:
        return run()
    except BadRequest as refused:
        return ("refused", refused.message if hasattr(refused, "message") else str(refused))


def assert_same_as_builder(bodies: list[dict], max_rows: int = 0) -> None:
    for name, make in DIALECTS.items():
        dialect, cache = make(), PlanCache()
        place = Place(name, None, max_rows)
        for body in bodies:
            expected = outcome(lambda p=place, b=body: reference(p, b))
            got = outcome(lambda d=dialect, c=cache, p=place, b=body: planned(d, c, p, b))
            assert got == expected, (name, body)


bodies = st.fixed_dictionaries(
    {"table": tables},
    optional={
        "fields": field_lists,
        "filter": filters,
        "sort": sorts,
        "limit": st.integers(0, 3000),
        "page": st.integers(0, 5),
    },
)


@CHECKED
@given(st.lists(bodies, min_size=1, max_size=4))
def test_any_bodies_run_what_the_builder_builds(many):
    assert_same_as_builder(many)


# One shape, many values: every request after the first is served from the cache.
same_shape = st.builds(
    lambda pk, age, names, name, page: {
        "table": "dbo.testTable",
        "fields": ["ID", "Name"],
        "filter": [{"ID": pk}, {"^>=Age": age}, {"!Name": names}, [{"Address": name}]],
        "sort": ["ID DESC"],
        "limit": 50,
        "page": page,
    },
    scalars,
    scalars,
    st.lists(scalars, min_size=3, max_size=3),
    st.one_of(st.text(max_size=8), st.sampled_from(["%Boston", "x%", "' OR 1=1 --"])),
    st.integers(0, 4),
)


@CHECKED
@given(st.lists(same_shape, min_size=2, max_size=6), st.sampled_from([0, 20, 5000]))
def test_one_shape_with_new_values_runs_what_the_builder_builds(many, max_rows):
    assert_same_as_builder(many, max_rows)


def test_values_never_enter_the_key_or_the_text():
    place = Place("postgresql")
    first = compile_select(place, {"table": "t", "filter": [{"id": 1}, {"n": [1, 2]}]}, PROBE)
    second = compile_select(
        place, {"table": "t", "filter": [{"id": "'; DROP TABLE t; --"}, {"n": [7, 8]}]}, PROBE
    )
    assert first.key == second.key
    assert second.values == ["'; DROP TABLE t; --", [7, 8]]
    dialect, cache = DIALECTS["postgresql"](), PlanCache()
    planned(dialect, cache, place, first.body)
    sql, values = planned(dialect, cache, place, second.body)
    assert len(cache) == 1 and "DROP" not in sql
    assert values == ["'; DROP TABLE t; --", 7, 8, 1001]


@pytest.mark.parametrize(
    "other",
    [
        {"table": "t", "filter": [{"id": 1}, {"n": [1, 2, 3]}]},  # list length
        {"table": "t", "filter": [{"ID": 1}, {"n": [1, 2]}]},  # field name
        {"table": "t", "filter": [{"id": "%1"}, {"n": [1, 2]}]},  # LIKE instead of =
        {"table": "t", "filter": [{"id": None}, {"n": [1, 2]}]},  # IS NULL
        {"table": "t", "filter": [{"id": 1}, {"n": [1, None]}]},  # OR IS NULL
        {"table": "t", "filter": [{"id": 1}, {"^n": [1, 2]}]},  # OR
        {"table": "t", "fields": ["id"], "filter": [{"id": 1}, {"n": [1, 2]}]},
        {"table": "t", "filter": [{"id": 1}, {"n": [1, 2]}], "sort": ["id"], "limit": 10},
        {"table": "t", "filter": [{"id": 1}, {"n": [1, 2]}], "sort": ["id"], "page": 1},
    ],
)
def test_any_change_of_shape_is_another_key(other):
    place = Place("sqlite")
    base = compile_select(place, {"table": "t", "filter": [{"id": 1}, {"n": [1, 2]}]}, PROBE)
    assert compile_select(place, other, PROBE).key != base.key


def test_grouping_is_part_of_the_shape():
    place = Place("sqlite")
    flat = [{"a": 1}, {"^b": 2}, {"c": 3}]  # a OR (b AND c)
    grouped = [{"a": 1}, [{"^b": 2}, {"c": 3}]]  # a AND (b OR c)
    keys = {compile_select(place, {"table": "t", "filter": f}, PROBE).key for f in (flat, grouped)}
    assert len(keys) == 2
    assert_same_as_builder([{"table": "t", "filter": flat}, {"table": "t", "filter": grouped}])


def test_a_cached_shape_still_refuses_values_the_builder_refuses():
    place, dialect, cache = Place("sqlite"), DIALECTS["sqlite"](), PlanCache()
    planned(dialect, cache, place, {"table": "t", "filter": [{">age": 1}]})
    for bad in ([1], {"a": 1}, None, True):
        with pytest.raises(BadRequest, match="a comparison needs"):
            planned(dialect, cache, place, {"table": "t", "filter": [{">age": bad}]})


def test_unhashable_fields_are_refused_not_crashed():
    place, dialect, cache = Place("sqlite"), DIALECTS["sqlite"](), PlanCache()
    with pytest.raises(BadRequest, match="fields must be an array of strings"):
        planned(dialect, cache, place, {"table": "t", "fields": [{"a": 1}]})
    assert len(cache) == 0


def test_the_cache_is_bounded():
    place, dialect, cache = Place("sqlite"), DIALECTS["sqlite"](), PlanCache()
    for n in range(MAX_SHAPES + 10):
        planned(dialect, cache, place, {"table": "t", "fields": [f"c{n}"]})
    assert len(cache) <= MAX_SHAPES
