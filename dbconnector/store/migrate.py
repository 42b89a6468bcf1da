"""Apply the Alembic migrations in migrations/ to the metadata database."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def migrations_dir() -> Path:
    """DBCONNECTOR_MIGRATIONS_DIR, else migrations/ beside the package (a source checkout)."""
    configured = os.environ.get("DBCONNECTOR_MIGRATIONS_DIR")
    checkout = Path(__file__).resolve().parents[2]  # dbconnector/store/migrate.py -> the checkout
    path = Path(configured) if configured else checkout / "migrations"
    if not (path / "env.py").is_file():
        raise RuntimeError(
            f"no Alembic migrations at {path}; "
            "set DBCONNECTOR_MIGRATIONS_DIR to the migrations folder"
        )
    return path


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # A migration that rebuilds a table drops the old one, which with foreign keys on
            # would cascade into every row referring to it; SQLite takes this switch only
            # outside a transaction, as its own table-rebuild procedure does.
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                config.attributes["connection"] = conn
                command.upgrade(config, revision)
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("a migration left rows whose foreign keys point nowhere")
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
