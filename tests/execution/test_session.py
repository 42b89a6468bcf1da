"""execution/session.py, the connection helper the synchronous path, jobs and transfers share,
on a real SQLite target: one transaction or nothing, clean errors, the watcher, the reset."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dbconnector.drivers.base import Target
from dbconnector.errors import ApiError
from dbconnector.execution import session


def rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT id, v FROM t ORDER BY id").fetchall()


class Watcher:
    def __init__(self, refuse: bool = False) -> None:
        self.refuse, self.seen, self.detached = refuse, [], 0

    def attach(self, driver: Any, engine: Any, dbapi_connection: Any) -> None:
        self.seen.append((driver.name, dbapi_connection))
        if self.refuse:
            raise RuntimeError("cancelled before the first statement")

    def detach(self) -> None:
        self.detached += 1


def test_a_transaction_commits_when_its_block_succeeds(scratch):
    pools, target, path = scratch
    with session.transaction(pools, target) as conn:
        conn.exec_driver_sql("INSERT INTO t (v) VALUES ('a'), ('b')")
    assert rows(path) == [(1, "a"), (2, "b")]


def test_a_failing_block_keeps_nothing_and_raises_its_own_error(scratch):
    pools, target, path = scratch
    with pytest.raises(KeyError), session.transaction(pools, target) as conn:
        conn.exec_driver_sql("INSERT INTO t (v) VALUES ('a')")
        raise KeyError("after a write")
    assert rows(path) == []


def test_a_database_error_is_the_targets_clean_400_and_keeps_nothing(scratch):
    pools, target, path = scratch
    with pytest.raises(ApiError) as caught, session.transaction(pools, target) as conn:
        conn.exec_driver_sql("INSERT INTO t (v) VALUES ('a')")
        conn.exec_driver_sql("INSERT INTO t (v) VALUES (NULL)")
    assert caught.value.status == 400
    assert "NOT NULL" in caught.value.message and str(path) not in caught.value.message
    assert rows(path) == []


def test_a_target_that_cannot_be_opened_is_a_clean_error_that_names_no_path(tmp_path, scratch):
    pools, target, _ = scratch
    missing = Target(
        2, "gone", target.driver, {"database": str(tmp_path / "no" / "such.db")}, "g", 3, 10, "g"
    )
    with pytest.raises(ApiError) as caught, session.opened(pools, missing):
        pytest.fail("the block must not run")
    assert caught.value.status == 503
    assert "such.db" not in caught.value.message


def test_the_watcher_sees_the_dbapi_connection_and_is_detached_after(scratch):
    pools, target, path = scratch
    watcher = Watcher()
    with session.opened(pools, target, watcher) as (_, conn):
        assert watcher.seen == [("sqlite", conn.connection.dbapi_connection)]
        conn.exec_driver_sql("INSERT INTO t (v) VALUES ('a')")
        conn.commit()
    assert watcher.detached >= 1
    assert rows(path) == [(1, "a")]


def test_a_watcher_that_refuses_stops_the_block_before_it_runs(scratch):
    pools, target, path = scratch
    watcher = Watcher(refuse=True)
    ran = []
    with pytest.raises(RuntimeError), session.transaction(pools, target, watcher):
        ran.append(True)
    assert ran == [] and watcher.detached >= 1 and rows(path) == []


def test_resets_ends_the_session_so_caller_state_never_reaches_the_next_caller(scratch):
    pools, target, _ = scratch
    with session.transaction(pools, target, resets=True) as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE mine (x INTEGER)")
        first = conn.connection.dbapi_connection
    with session.transaction(pools, target) as conn:
        assert conn.connection.dbapi_connection is not first
        temp = "SELECT name FROM sqlite_temp_master WHERE name = 'mine'"
        assert conn.exec_driver_sql(temp).fetchall() == []
