"""Property tests: no filter, field, sort or table input can change a statement's shape.

For arbitrary input (quotes, brackets, semicolons, comments, unicode, control characters, SQL
fragments) the compiler either refuses it with a 400, or produces SQL whose every part outside the
dialect-quoted identifiers is our own fixed vocabulary, with each caller value carried as a bound
parameter. So the caller decides which columns and values, never what SQL runs.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbconnector.errors import BadRequest
from dbconnector.sql.filters import compile_filter
from dbconnector.sql.statements import (
    Place,
    delete_statement,
    insert_rows,
    select_statement,
    update_statement,
)
from tests.support.dialects import DIALECTS, QUOTES, render

VOCABULARY = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "IS",
    "NULL",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "LIMIT",
    "OFFSET",
    "TOP",
    "ROWS",
    "FETCH",
    "FIRST",
    "ONLY",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "INTEGER",
    "*",
    "(",
    ")",
    ",",
    ".",
    "=",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "?",
    "::",
}
_TOKEN = re.compile(r"\s*(::|!=|<=|>=|[=<>*(),.?]|[A-Za-z_]+|\d+)")

nasty = st.sampled_from(
    [
        "ID",
        "Name",
        "[first name]",
        '"x"',
        "`q`",
        "t.c",
        "a.b.c",
        "x; DROP TABLE t",
        "a--b",
        "a/*b*/",
        "[a]]b]",
        'a"b',
        "a`b",
        "名前",
        "",
        " ",
        "\x00",
        "a\nb",
        "1abc",
        "%",
        "@v",
        "#t",
    ]
)
names = st.one_of(nasty, st.text(max_size=12))
prefixes = st.sampled_from(["", "^", "!", "^!", ">", ">=", "<", "<=", "^>", "!>", "^<=", "!!"])
keys = st.builds(lambda prefix, name: prefix + name, prefixes, names)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.sampled_from(["%x", "x%", "%x%", "'; DROP TABLE t; --", "%", "%%", "' OR '1'='1"]),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(st.text(max_size=3), scalars, max_size=2),
)
predicates = st.dictionaries(keys, values, min_size=1, max_size=3)
filters = st.one_of(
    st.recursive(
        st.lists(predicates, max_size=4),
        lambda inner: st.lists(
            st.one_of(predicates, inner, st.builds(lambda group: {"^": group}, inner)), max_size=4
        ),
        max_leaves=12,
    ),
    st.text(max_size=5),
    st.integers(),
)
field_lists = st.one_of(st.none(), st.text(max_size=10), st.lists(names, max_size=4))
sorts = st.one_of(
    st.none(),
    st.lists(
        st.builds(lambda n, d: n + d, names, st.sampled_from(["", " DESC", " asc", " desc ", ";"])),
        max_size=3,
    ),
)
tables = st.one_of(names, st.sampled_from(["testTable", "dbo.t", "[a b].c", "x;y", "db.dbo.t"]))


def skeleton(sql: str, dialect: str) -> list[str]:
    """The SQL with each quoted identifier replaced by I, tokenised; asserts it all tokenises."""
    left, right = QUOTES[dialect]
    without_names = re.sub(
        re.escape(left) + "[^" + re.escape(right) + "]*" + re.escape(right), " I ", sql
    )
    tokens, position = [], 0
    while position < len(without_names):
        match = _TOKEN.match(without_names, position)
        assert match, f"unexpected text in {sql!r} at {without_names[position:]!r}"
        tokens.append(match.group(1))
        position = match.end()
        while position < len(without_names) and without_names[position].isspace():
            position += 1
    return tokens


def assert_fixed_vocabulary(sql: str, dialect: str) -> None:
    for token in skeleton(sql, dialect):
        assert token == "I" or token in VOCABULARY or token.isdigit(), (token, sql)


def filter_values(spec: Any) -> list[Any]:
    """The values a filter binds: every non-null scalar, and the non-null members of lists."""
    found: list[Any] = []
    items = [spec] if isinstance(spec, dict) else spec
    for item in items:
        if isinstance(item, list):
            found += filter_values(item)
            continue
        for key, value in item.items():
            if key == "^":
                found += filter_values(value)
            elif isinstance(value, list):
                found += [v for v in value if v is not None]
            elif value is not None:
                found.append(value)
    return found


CHECKED = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@CHECKED
@given(spec=filters)
def test_filters_bind_every_value_and_keep_their_shape(spec):
    try:
        expression = compile_filter(spec)
    except BadRequest:
        return
    if expression is None:
        return
    for dialect in DIALECTS:
        sql, bound = render(expression, dialect)
        assert_fixed_vocabulary(sql, dialect)
        assert sorted(map(repr, bound)) == sorted(map(repr, filter_values(spec)))


@CHECKED
@given(
    table=tables,
    fields=field_lists,
    spec=filters,
    sort=sorts,
    limit=st.one_of(st.none(), st.integers(1, 500)),
    page=st.one_of(st.none(), st.integers(0, 9)),
)
def test_select_statements_keep_their_shape(table, fields, spec, sort, limit, page):
    for dialect in DIALECTS:
        try:
            statement = select_statement(
                Place(dialect, "dbo"), table, fields, spec, sort, limit, page
            )
        except BadRequest:
            continue
        sql, _ = render(statement, dialect)
        assert_fixed_vocabulary(sql, dialect)


@CHECKED
@given(
    table=tables,
    names_=st.lists(names, min_size=1, max_size=4),
    row=st.lists(scalars, max_size=4),
    spec=filters,
)
def test_writes_keep_their_shape(table, names_, row, spec):
    builders = (
        lambda place: insert_rows(place, table, names_, [row])[0],
        lambda place: update_statement(place, table, dict(zip(names_, row, strict=False)), spec),
        lambda place: delete_statement(place, table, spec),
    )
    for dialect in DIALECTS:
        for build in builders:
            try:
                statement = build(Place(dialect))
            except BadRequest:
                continue
            assert_fixed_vocabulary(render(statement, dialect)[0], dialect)


def test_skeleton_check_catches_a_pasted_value():
    """The checker itself: SQL with a value pasted in is caught."""
    try:
        assert_fixed_vocabulary("SELECT * FROM [t] WHERE [a] = 'x' OR 1=1", "mssql")
    except AssertionError:
        return
    raise AssertionError("a pasted string literal was not noticed")
