"""sql/shapes.py: each operation's audit shape names tables, fields and keys, never a value."""

from __future__ import annotations

from dbconnector.sql import shapes

SECRET = "Alice Secretname"


def test_each_kind_has_its_shape_and_no_value_reaches_it():
    where = [{"name": SECRET}, {"^": [{">age": 3}, {"!id": [1, 2]}]}]
    assert shapes.select_shape(
        {"table": "people", "fields": ["id", 7], "filter": where, "sort": "id", "limit": 5}
    ) == {
        "table": "people",
        "fields": ["id"],
        "filter_keys": ["name", "^", ">age", "!id"],
        "sort": "id",
        "limit": 5,
        "page": None,
    }
    assert shapes.insert_shape(
        {"table": "people", "fields": ["name"], "values": [[SECRET], ["Bob"]]}
    ) == {"table": "people", "fields": ["name"], "rows": 2}
    assert shapes.update_shape(
        {"table": "people", "values": {"name": SECRET, "age": 3}, "filter": [{"id": 1}]}
    ) == {"table": "people", "filter_keys": ["id"], "columns": ["age", "name"]}
    assert shapes.delete_shape({"table": "people", "filter": [{"id": 1}]}) == {
        "table": "people",
        "filter_keys": ["id"],
    }
    assert shapes.query_shape({"statement": "SELECT {x}", "args": {"x": SECRET}}) == {
        "statement": "SELECT {x}",
        "arg_names": ["x"],
    }
    assert shapes.exec_shape(
        {"procname": "p", "params": {"@b": SECRET, "a": 1}, "output": {"o": "int"}}
    ) == {"procedure": "p", "params": ["@b", "a"], "outputs": ["o"]}
