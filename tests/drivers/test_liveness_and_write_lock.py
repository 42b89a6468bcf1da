"""Target connections are pinged only after idling; SQLite metadata writers queue on a lock."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, event, text

from dbconnector.drivers.liveness import ping_when_idle
from dbconnector.lib.writelock import WriteLock
from dbconnector.store.db import make_engine, write


def _engine_counting_pings(path: Path, after: float):  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{path}", pool_size=1, max_overflow=0)
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection):  # type: ignore[no-untyped-def]
        pings.append(1)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    ping_when_idle(engine, after=after)
    return engine, pings


def test_a_connection_back_from_use_a_moment_ago_is_not_pinged(tmp_path):
    engine, pings = _engine_counting_pings(tmp_path / "t.db", after=60)
    for _ in range(5):
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    assert pings == []


def test_an_idle_connection_that_died_is_replaced_at_checkout(tmp_path):
    engine, pings = _engine_counting_pings(tmp_path / "t.db", after=0.05)
    connects: list[int] = []
    event.listen(engine, "connect", lambda *_: connects.append(1))
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        dbapi = conn.connection.dbapi_connection
    dbapi.close()  # dies while idle in the pool, as after a server restart
    time.sleep(0.1)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 2")).scalar() == 2
    assert pings and len(connects) == 2


def test_sqlite_metadata_writes_from_many_threads_all_commit(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'meta.db'}")
    assert isinstance(engine.dbc_write_lock, WriteLock)  # type: ignore[attr-defined]
    with write(engine) as conn:
        conn.exec_driver_sql("CREATE TABLE n (v INTEGER)")
    inside, most = [0], [0]
    guard = threading.Lock()

    def writer(i: int) -> None:
        for j in range(20):
            with write(engine) as conn:
                with guard:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                conn.exec_driver_sql("INSERT INTO n VALUES (?)", (i * 100 + j,))
                with write(engine) as nested:  # re-entrant in one thread
                    nested.exec_driver_sql("SELECT 1")
                with guard:
                    inside[0] -= 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM n").scalar() == 160
    assert most[0] == 1  # one writer at a time
