"""Writes to a SQLite target queue on a lock in the data dir, so concurrent inserts all land."""

from __future__ import annotations

import sqlite3
import threading


def test_concurrent_inserts_on_a_sqlite_target_all_commit(env, tmp_path):
    path = tmp_path / "busy.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
    token = env.connection({"driver": "sqlite", "database": str(path)})
    answers: list[int] = []

    def writer(k: int) -> None:
        for i in range(10):
            body = {"token": token, "table": "t", "fields": ["n"], "values": [[k * 100 + i]]}
            answers.append(env.owner.post("/v1/insert/sqlite", body).status_code)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 80
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM t").fetchone() == (80,)
    settings = env.services.settings
    locks = list((settings.data_dir / "locks").glob("*.lock"))  # in the data dir, not beside
    assert locks and not [lock for lock in locks if token.upper() in lock.name.upper()]
    assert not (tmp_path / "busy.db.writelock").exists()
