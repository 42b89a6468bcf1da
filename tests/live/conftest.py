"""Session-wide scratch databases on the local PostgreSQL and MariaDB servers, and Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support import MYSQL_URL, POSTGRES_URL, REDIS_URL, require

pytestmark = pytest.mark.live


def _scratch_name() -> str:
    return f"dbc_test_{uuid.uuid4().hex[:10]}"


def _scratch_database(server_url: str, name: str, label: str, quote: str, create_suffix: str = ""):
    """Create database `name` on the server, yield its URL, drop it at the end."""
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")

    def create() -> str:
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {quote}{name}{quote}{create_suffix}"))
        return make_url(server_url).set(database=name).render_as_string(hide_password=False)

    yield require(label, create)
    with engine.connect() as conn:
        drop = f"DROP DATABASE IF EXISTS {quote}{name}{quote}"
        conn.execute(text(drop + (" WITH (FORCE)" if quote == '"' else "")))
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    yield from _scratch_database(POSTGRES_URL, _scratch_name(), "PostgreSQL", '"')


@pytest.fixture
def postgres_database_url() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped after it."""
    yield from _scratch_database(POSTGRES_URL, _scratch_name(), "PostgreSQL", '"')


@pytest.fixture(scope="session")
def mysql_server_url() -> Iterator[str]:
    """A fresh MariaDB/MySQL database for this test session, dropped at the end."""
    yield from _scratch_database(
        MYSQL_URL, _scratch_name(), "MariaDB", "`", " CHARACTER SET utf8mb4"
    )


@pytest.fixture
def redis_url() -> str:
    """Redis database 15, emptied first: it belongs to the tests."""

    def flush() -> str:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.flushdb()
        client.close()
        return REDIS_URL

    return require("Redis", flush)


@pytest.fixture(scope="session")
def mssql_url() -> str:
    """SQL Server or Babelfish from DBCONNECTOR_TEST_MSSQL; these tests alone may skip in CI."""
    from tests.backends import MSSQL_URL

    if not MSSQL_URL:
        pytest.skip(
            "DBCONNECTOR_TEST_MSSQL is not set (a TDS endpoint: mssql://user:pw@host:port/db)"
        )
    return MSSQL_URL
