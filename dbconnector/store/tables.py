"""The metadata database, as SQLAlchemy Core tables. Alembic migrations create them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
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
TOKEN_STAMP_LENGTH = 32

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
    # A random value set at create: tokens carry it, so a token never authenticates as another
    # user, even one that somehow came to hold the same id.
    Column("token_stamp", String(TOKEN_STAMP_LENGTH), nullable=False),
    # AUTOINCREMENT: SQLite otherwise hands the highest id out again once its user is deleted.
    sqlite_autoincrement=True,
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

# Async jobs (execution/jobs/): one row per submitted call. The body is sealed (store/secrets.py):
# it may hold values from city data. The lease says which process runs it until when; a lease
# that runs out while `running` means that process died.
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "user_id",
        Integer,
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(10), nullable=False),
    Column("driver", String(20), nullable=False),
    Column("connection_id", Integer, nullable=False),
    Column("connection_name", String(NAME_MAX), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("timeout", Integer, nullable=False),
    Column("retain", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("error", Text, nullable=True),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires_at", DateTime(timezone=True), nullable=True),
    # JSON: per result set its columns and row count, and /exec's output values.
    Column("summary", Text, nullable=True),
    Column("rows", BigInteger, nullable=False, default=0),
    # A submit's per-user active count and a worker's claim read only the rows they need
    # (migration 0004).
    Index("ix_jobs_user_status", "user_id", "status"),
    Index("ix_jobs_status_created", "status", "created_at", "id"),
)

# A job's rows, 1,000 a page: newline-separated JSON objects (the synchronous endpoints' own
# encoding), zlib-compressed, then sealed with the service key.
job_pages = Table(
    "job_pages",
    metadata,
    Column(
        "job_id",
        String(36),
        ForeignKey("jobs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("result_set", Integer, primary_key=True),
    Column("page", Integer, primary_key=True),
    Column("row_count", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),
)
