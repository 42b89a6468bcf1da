"""The metadata database, as SQLAlchemy Core tables. Alembic migrations create them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# A naming convention keeps constraint names identical on every backend, so migrations can
# refer to them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

USERNAME_MAX = 100
IPADDRESSES_MAX = 150
TTL_MAX = 10
NAME_MAX = 100
DESCRIPTION_MAX = 1000

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(USERNAME_MAX), nullable=False, unique=True),
    Column("password_hash", String(128), nullable=False),
    Column("ipaddresses", String(IPADDRESSES_MAX), nullable=False, default=""),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("role", Integer, nullable=False),
    Column("ttl", String(TTL_MAX), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Tokens carry the generation they were issued in; raising it revokes every live token.
    Column("token_generation", Integer, nullable=False, default=0, server_default="0"),
)

connections = Table(
    "connections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token", String(36), nullable=False, unique=True),
    Column("name", String(NAME_MAX), nullable=False, unique=True),
    Column("description", String(DESCRIPTION_MAX), nullable=False, default=""),
    # Fernet ciphertext of the connection string (store/secrets.py).
    Column("secret", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("count", BigInteger, nullable=False, default=0),
    Column("last_use", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

grants = Table(
    "grants",
    metadata,
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "connection_id",
        Integer,
        ForeignKey("connections.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# One row per refresh token until it expires: refreshing marks it spent (once, across every
# instance sharing the metadata database); a spent token presented again is a reuse.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("jti", String(36), primary_key=True),
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("access_jti", String(36), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("spent_at", DateTime(timezone=True), nullable=True),
)
