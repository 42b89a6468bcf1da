"""Alembic environment for the metadata database.

`dbconnector db upgrade` passes an open connection in `config.attributes["connection"]`; the
plain `alembic` command (alembic.ini at the repository root) reads DBCONNECTOR_* settings instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from dbconnector.store.tables import metadata

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several containers may start at once: one migrates, the others wait, then find
            # nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(724830012)"))
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from dbconnector.config import Settings
    from dbconnector.store.db import make_engine

    engine = make_engine(Settings.from_env().database_url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run `dbconnector db upgrade`")
run_migrations_online()
