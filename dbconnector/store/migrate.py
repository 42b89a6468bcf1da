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
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
