"""Migration 0005 on a SQLite metadata database that already holds users: ids are never handed
out again, every user gets its own token stamp, and nothing that refers to a user is lost."""

from __future__ import annotations

from sqlalchemy import text

from dbconnector.store.db import make_engine
from dbconnector.store.migrate import upgrade

NOW = "2026-12-01 00:00:00"


def _user(conn, name: str, stamped: bool = False) -> int:  # type: ignore[no-untyped-def]
    """A user as that revision's table takes it (with a token stamp after 0005)."""
    columns = ", token_stamp" if stamped else ""
    values = ", 'stamp'" if stamped else ""
    conn.execute(
        text(
            "INSERT INTO users (username, password_hash, ipaddresses, enabled, role, ttl, "
            f"created_at, updated_at{columns}) VALUES (:n, 'x', '', 1, 1, '', :now, :now{values})"
        ),
        {"n": name, "now": NOW},
    )
    return conn.execute(text("SELECT id FROM users WHERE username = :n"), {"n": name}).scalar()


def test_upgrade_keeps_rows_and_stops_id_reuse(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'meta.db'}")
    upgrade(engine, "0004")
    with engine.begin() as conn:
        first, second, third = (_user(conn, name) for name in ("a", "b", "c"))
        conn.execute(
            text(
                "INSERT INTO connections (token, name, description, secret, enabled, count, "
                "created_at, updated_at) VALUES ('t', 'n', '', 's', 1, 0, :now, :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            text("INSERT INTO grants (user_id, connection_id, created_at) VALUES (:u, 1, :now)"),
            {"u": second, "now": NOW},
        )
        conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": third})
    upgrade(engine)
    with engine.begin() as conn:
        stamps = dict(conn.execute(text("SELECT id, token_stamp FROM users")).all())
        assert set(stamps) == {first, second}
        assert len(set(stamps.values())) == 2 and all(len(s) == 32 for s in stamps.values())
        assert conn.execute(text("SELECT user_id FROM grants")).scalars().all() == [second]
        conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": second})
        assert conn.execute(text("SELECT count(*) FROM grants")).scalar() == 0  # still cascades
        after = _user(conn, "d", stamped=True)
    assert after > second
    engine.dispose()
