"""What `make run` sets up before serving: the env-configured OWNER and the demo data.

The demo is the specification's "Test Data": user devuser / Boston2021 (role FULL), a SQLite target
database holding testTable with its 8 rows, saved as the connection "demo" with the connToken
45826BE6-1E29-CC64-B49E-550B9610C2EA and granted to devuser. Seeding is idempotent: existing users
keep their passwords, and the demo table is rebuilt only when missing (or with reset=True).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

from sqlalchemy import Engine

from ..config import Settings
from ..lib.roles import Role
from . import connections as conn_store
from . import users as user_store
from .connections import ConnectionStore
from .db import write
from .passwords import hash_password
from .secrets import SecretBox

log = logging.getLogger(__name__)

DEMO_USERNAME = "devuser"
DEMO_PASSWORD = "Boston2021"  # the specification's published test credentials  # noqa: S105
DEMO_TOKEN = "45826BE6-1E29-CC64-B49E-550B9610C2EA"  # noqa: S105 - the published demo token
DEMO_CONNECTION = "demo"

TEST_TABLE_ROWS = [
    (1, "David Upton", "1 Nevermind St, Nowhere", "Male", 21),
    (2, "Matt McGowan", "14 Glochester Park", "Male", 21),
    (3, "Phiilip Kelly", "2 Redline, Boston", "Male", 21),
    (4, "Stella Ubana", "3 Kids is too many, Boston", "Female", 21),
    (5, "Caroline Stjarnborg", "1 City Hall Plaza, Boston", "Female", 21),
    (6, "James Duffy", "1 Boston", "Male", 21),
    (7, "Sebastian Ebard", "2 Nice Street, Rosendale", "Male", 21),
    (8, "Jeanethe Falvey", "3 Nice Street, Rosendale", "Female", 21),
]


def ensure_user(engine: Engine, settings: Settings, username: str, password: str, role: int) -> int:
    """Create the user if missing; an existing user is left exactly as it is."""
    with write(engine) as conn:
        user = user_store.get_by_username(conn, username)
        if user is not None:
            return user.id
        return user_store.create(
            conn,
            username=username,
            password_hash=hash_password(password, settings.bcrypt_rounds),
            role=role,
        )


def ensure_owner(engine: Engine, settings: Settings) -> None:
    if settings.owner_username and settings.owner_password:
        ensure_user(
            engine, settings, settings.owner_username, settings.owner_password, int(Role.OWNER)
        )
        log.info("OWNER %s is present", settings.owner_username)


def build_demo_target(path: Path, reset: bool = False) -> None:
    """The SQLite database behind the demo connection, with testTable and its 8 rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        if reset:
            db.execute('DROP TABLE IF EXISTS "testTable"')
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'testTable'"
        ).fetchone()
        if exists:
            return
        db.execute(
            'CREATE TABLE "testTable" ('
            '"ID" INTEGER PRIMARY KEY AUTOINCREMENT, "Name" VARCHAR(100), '
            '"Address" VARCHAR(255), "Sex" VARCHAR(10), "Age" INTEGER)'
        )
        db.executemany('INSERT INTO "testTable" VALUES (?, ?, ?, ?, ?)', TEST_TABLE_ROWS)


def seed_demo(engine: Engine, settings: Settings, reset: bool = False) -> None:
    target = (settings.data_dir / "demo.db").resolve()
    build_demo_target(target, reset=reset)
    user_id = ensure_user(engine, settings, DEMO_USERNAME, DEMO_PASSWORD, int(Role.FULL))
    store = ConnectionStore(SecretBox.of(settings.key_ring))
    with write(engine) as conn:
        record = store.by_token(conn, DEMO_TOKEN)
        if record is None:
            store.create(
                conn,
                name=DEMO_CONNECTION,
                connection_string=json.dumps({"driver": "sqlite", "database": str(target)}),
                description="Demo: the specification's testTable (SQLite)",
                token=DEMO_TOKEN,
            )
            record = store.by_token(conn, DEMO_TOKEN)
        assert record is not None
        conn_store.grant(conn, user_id, record.id)
    log.info("demo ready: %s / %s, connToken %s", DEMO_USERNAME, "*****", DEMO_TOKEN)
