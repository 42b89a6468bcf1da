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


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""

    def create() -> str:
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    name = _scratch_name()
    url = require("PostgreSQL", create)
    yield url
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def mysql_server_url() -> Iterator[str]:
    """A fresh MariaDB/MySQL database for this test session, dropped at the end."""

    def create() -> str:
        admin = create_engine(MYSQL_URL)
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        admin.dispose()
        return make_url(MYSQL_URL).set(database=name).render_as_string(hide_password=False)

    name = _scratch_name()
    url = require("MariaDB", create)
    yield url
    admin = create_engine(MYSQL_URL)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
    admin.dispose()


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
