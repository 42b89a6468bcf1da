"""The filter-array compiler: every operator, on every dialect, with bound values only."""

from __future__ import annotations

import pytest

from dbconnector.errors import BadRequest
from dbconnector.sql.filters import compile_filter
from tests.support.dialects import DIALECTS, quoted, render

CASES = [
    ([{"Name": "david"}], "{Name} = ?", ["david"]),
    ([{"!Name": "david"}], "{Name} != ?", ["david"]),
    ([{"Name": "david%"}], "{Name} LIKE ?", ["david%"]),
    ([{"Name": "%david"}], "{Name} LIKE ?", ["%david"]),
    ([{"Name": "%david%"}], "{Name} LIKE ?", ["%david%"]),
    ([{"!Name": "%david%"}], "{Name} NOT LIKE ?", ["%david%"]),
    ([{"Name": "da%vid"}], "{Name} = ?", ["da%vid"]),  # % only counts at either end
    ([{"Name": ["david", "michael"]}], "{Name} IN (?, ?)", ["david", "michael"]),
    ([{"!Name": ["david"]}], "({Name} NOT IN (?))", ["david"]),
    ([{"Name": None}], "{Name} IS NULL", []),
    ([{"!Name": None}], "{Name} IS NOT NULL", []),
    ([{"Name": ["a", None]}], "{Name} IN (?) OR {Name} IS NULL", ["a"]),
    ([{"Name": []}], "{Name} IS NULL AND {Name} IS NOT NULL", []),
    ([{">Age": 20}], "{Age} > ?", [20]),
    ([{">=Age": 20}], "{Age} >= ?", [20]),
    ([{"<Age": 20}], "{Age} < ?", [20]),
    ([{"<=Age": "20"}], "{Age} <= ?", ["20"]),
    ([{"^>Age": 20}, {"<Age": 5}], "{Age} > ? AND {Age} < ?", [20, 5]),
    ([{"enabled": "false"}], "{enabled} = ?", ["false"]),
    ([{"enabled": True}], "{enabled} = ?", [True]),
    (
        [{"Name": "a"}, {"^Name": "b"}, {"^Name": "c"}],
        "{Name} = ? OR {Name} = ? OR {Name} = ?",
        ["a", "b", "c"],
    ),
    # joined in array order without added parentheses: a AND b OR c AND d
    (
        [{"a": 1}, {"b": 2}, {"^c": 3}, {"d": 4}],
        "{a} = ? AND {b} = ? OR {c} = ? AND {d} = ?",
        [1, 2, 3, 4],
    ),
    ([{"a": 1, "b": 2}], "{a} = ? AND {b} = ?", [1, 2]),
    ([{"a": 1}, [{"b": 2}, {"^c": 3}]], "{a} = ? AND ({b} = ? OR {c} = ?)", [1, 2, 3]),
    ([{"a": 1}, {"^": [{"b": 2}, {"c": 3}]}], "{a} = ? OR {b} = ? AND {c} = ?", [1, 2, 3]),
    ([{"^": [{"b": 2}, {"^c": 3}]}, {"a": 1}], "({b} = ? OR {c} = ?) AND {a} = ?", [2, 3, 1]),
    ([{"[first name]": "x"}], "{first name} = ?", ["x"]),
    ({"ID": 1}, "{ID} = ?", [1]),
]


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
@pytest.mark.parametrize("spec, template, values", CASES)
def test_operator(dialect, spec, template, values):
    sql, bound = render(compile_filter(spec), dialect)
    assert sql == quoted(template, dialect)
    assert bound == values


@pytest.mark.parametrize("spec", [None, [], [{}], [[]], [[], {}]])
def test_nothing_to_filter(spec):
    assert compile_filter(spec) is None


@pytest.mark.parametrize(
    "spec, message",
    [
        ("ID = 1", "filter must be an array of objects"),
        ([1], 'filter entries must be objects like {"field": value}'),
        ([{"!>Age": 1}], "filter key '!>Age': '!' cannot be combined with a comparison"),
        ([{">Age": None}], "filter key '>Age': a comparison needs a number or a string"),
        ([{">Age": [1, 2]}], "filter key '>Age': a comparison needs a number or a string"),
        (
            [{"Age": {"$gt": 1}}],
            "filter key 'Age': the value must be a string, number, boolean, null or an array",
        ),
        ([{"Age": [[1]]}], "filter key 'Age': a list may hold only strings, numbers and booleans"),
        ([{"^": {"a": 1}}], "filter group '^' needs an array"),
        ([{"Age; DROP TABLE t": 1}], "filter field 'Age; DROP TABLE t' is not a plain identifier"),
        ([{"": 1}], "filter field '' is not a plain identifier"),
        ([{"^!": 1}], "filter field '' is not a plain identifier"),
        ([{'a"b': 1}], "filter field 'a\"b' is not a plain identifier"),
        ([{"[a]]b]": 1}], "filter field '[a]]b]' is not a plain identifier"),
        ([{"a.b.c": 1}], "filter field 'a.b.c' must be a bare name, without a table prefix"),
        (
            [{"other.secret": 1}],
            "filter field 'other.secret' must be a bare name, without a table prefix",
        ),
    ],
)
def test_malformed_filters_are_400(spec, message):
    with pytest.raises(BadRequest) as caught:
        compile_filter(spec)
    assert caught.value.message == message


def test_nesting_and_size_are_bounded():
    deep: list = [{"a": 1}]
    for _ in range(20):
        deep = [deep]
    with pytest.raises(BadRequest, match="deeper than 16"):
        compile_filter(deep)
    with pytest.raises(BadRequest, match="more than 1000 predicates"):
        compile_filter([{"a": i} for i in range(1001)])
