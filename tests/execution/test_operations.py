"""execution/operations.py: one declaration per kind, and a select into a sink through the one
batch loop (execution/streaming.py), on a real SQLite target."""

from __future__ import annotations

import sqlite3

import pytest

from dbconnector.drivers.base import FETCH_ROWS
from dbconnector.errors import BadRequest
from dbconnector.execution import plan, session
from dbconnector.execution.operations import EXEC, KINDS, QUERY, SELECT
from dbconnector.lib import roles


class Sink:
    def __init__(self) -> None:
        self.sets: list[tuple[list[str], list[tuple]]] = []
        self.batches: list[int] = []
        self.ended = 0

    def begin(self, columns: list[str]) -> None:
        self.sets.append((columns, []))

    def rows(self, rows: list[tuple]) -> None:
        self.batches.append(len(rows))
        self.sets[-1][1].extend(tuple(row) for row in rows)

    def end(self) -> None:
        self.ended += 1


def test_each_kind_is_declared_once_with_its_roles():
    assert sorted(KINDS) == ["delete", "exec", "insert", "query", "select", "update"]
    assert {kind: op.roles for kind, op in KINDS.items()} == {
        "select": roles.SELECT,
        "insert": roles.INSERT,
        "update": roles.UPDATE,
        "delete": roles.DELETE,
        "query": roles.QUERY,
        "exec": roles.EXEC,
    }
    # The job kinds are those that write into a sink; writes answer only within the request.
    assert sorted(kind for kind, op in KINDS.items() if op.into) == ["exec", "query", "select"]


def test_a_select_runs_into_a_sink_batch_by_batch(scratch):
    pools, target, path = scratch
    total = FETCH_ROWS * 2 + 5
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO t (v) VALUES (?)", [(f"v{n}",) for n in range(total)])
    where = plan.place(target, 0)
    body = {"table": "t", "fields": ["id", "v"]}  # no sort: no default limit of 100
    sink = Sink()
    with session.transaction(pools, target) as conn:
        SELECT.into(conn, target, where, SELECT.plan(where, body, roles.Role.READ), sink)
    ((columns, rows),) = sink.sets
    assert columns == ["id", "v"] and sink.ended == 1
    assert rows[0] == (1, "v0") and rows[-1] == (total, f"v{total - 1}") and len(rows) == total
    assert sink.batches == [FETCH_ROWS, FETCH_ROWS, 5]


def test_a_query_runs_into_the_same_sink(scratch):
    pools, target, _ = scratch
    where = plan.place(target, 0)
    sink = Sink()
    with session.transaction(pools, target) as conn:
        planned = QUERY.plan(where, {"statement": "SELECT 1 AS one"}, roles.Role.FULL)
        QUERY.into(conn, target, where, planned, sink)
    assert sink.sets == [(["one"], [(1,)])]


def test_check_refuses_before_anything_runs(scratch):
    _, target, _ = scratch
    where = plan.place(target, 0)
    with pytest.raises(BadRequest, match="no stored procedures"):
        EXEC.check(where, target, {"procname": "p"}, roles.Role.FULL)
    with pytest.raises(BadRequest):
        SELECT.check(where, target, {"table": "t", "sort": "id desc nonsense"}, roles.Role.READ)
    SELECT.check(where, target, {"table": "t", "sort": "id"}, roles.Role.READ)
