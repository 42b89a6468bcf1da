"""Shared fixtures: an app on a freshly migrated metadata database, and an HTTP caller with tokens.

Live servers (PostgreSQL, MariaDB, Redis, a TDS endpoint) are reached through `live_*` fixtures in
tests/live/conftest.py and tests/support.py; with CI=true a missing server fails the test.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from dbconnector import Settings, create_app
from dbconnector.auth.roles import Role
from dbconnector.store.db import make_engine
from dbconnector.store.migrate import upgrade
from dbconnector.store.seed import ensure_user

TEST_SECRET = "test-secret-key-for-dbconnector-tests"
OWNER = ("owner@boston.gov", "Owner-Password-1")


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    base = {
        "env": "test",
        "data_dir": data_dir,
        "secret_key": TEST_SECRET,
        "bcrypt_rounds": 4,
        "ratelimit": "100000/minute",
        "auth_ratelimit": "100000/minute",
        "cache_seconds": 0.0,
        "usage_flush_seconds": 0.0,
        "connect_timeout": 3.0,
        "statement_timeout": 10.0,
        # No job worker threads unless a test asks: most tests queue no job, and the jobs tests
        # drive workers step by step (tests/execution/) or start them (tests/live/).
        "job_workers": 0,
        # Test targets live in pytest's temp dirs, beside (never inside) each app's data dir.
        "sqlite_roots": (Path(tempfile.gettempdir()).resolve(),),
    }
    base.update(overrides)
    return Settings(**base).validated()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite metadata database migrated by Alembic, copied for each test (fast and real)."""
    path = tmp_path_factory.mktemp("template") / "dbconnector.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


class Caller:
    """Calls the API through the Flask test client as one client address, with a bearer token."""

    def __init__(self, client: FlaskClient, token: str | None = None, addr: str = "127.0.0.1"):
        self.client = client
        self.token = token
        self.addr = addr
        self.userid: int | None = None
        self.refresh_token: str | None = None

    def call(self, method: str, path: str, json: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.client.open(
            path,
            method=method,
            json=json,
            headers=headers,
            environ_base={"REMOTE_ADDR": self.addr},
            **kwargs,
        )

    def get(self, path: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.call("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.call("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.call("DELETE", path, **kwargs)

    def login(self, username: str, password: str) -> Caller:
        response = self.post("/v1/auth", {"username": username, "password": password})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        caller = Caller(self.client, body["authToken"], self.addr)
        caller.userid = body["userid"]
        caller.refresh_token = body["refreshToken"]
        return caller


class Env:
    """An app plus helpers to make users and connections through the API as the OWNER."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        self.anon = Caller(self.client)
        self.owner = self.anon.login(*OWNER)
        self._count = 0

    @property
    def services(self):  # type: ignore[no-untyped-def]
        return self.app.extensions["dbconnector"]

    def user(self, role: int, password: str = "User-Password-1", **fields: Any) -> Caller:
        """Create a user with `role` (via the API, as OWNER) and log in as it."""
        self._count += 1
        username = fields.pop("username", f"user{self._count}@example.org")
        body = {"username": username, "password": password, "role": int(role), **fields}
        response = self.owner.post("/v1/users", body)
        assert response.status_code == 201, response.get_json()
        caller = self.anon.login(username, password)
        caller.username = username  # type: ignore[attr-defined]
        return caller

    def connection(self, connection_string: dict | str | None = None, **fields: Any) -> str:
        self._count += 1
        body = {
            "name": fields.pop("name", f"conn{self._count}"),
            "connectionString": connection_string
            if connection_string is not None
            else {"host": "db.internal", "port": 1433, "user": "svc", "password": "s3cret!"},
            **fields,
        }
        response = self.owner.post("/v1/connection", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["connToken"]

    def grant(self, token: str, user: Caller) -> None:
        response = self.owner.post(f"/v1/connection/{token}/user/{user.userid}")
        assert response.status_code == 201, response.get_json()


def build_app(tmp_path: Path, template: Path, **overrides: Any) -> Flask:
    """An app whose data dir is tmp_path/data, so target files can sit beside it in tmp_path."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    db_path = data_dir / "dbconnector.db"
    if "database_url" not in overrides:
        shutil.copy(template, db_path)
        overrides["database_url"] = f"sqlite:///{db_path}"
    settings = make_settings(data_dir, **overrides)
    engine = make_engine(settings.database_url)
    ensure_user(engine, settings, OWNER[0], OWNER[1], int(Role.OWNER))
    engine.dispose()
    return create_app(settings)


@pytest.fixture
def app(tmp_path: Path, migrated_template: Path) -> Iterator[Flask]:
    application = build_app(tmp_path, migrated_template)
    yield application
    application.extensions["dbconnector"].engine.dispose()


@pytest.fixture
def env(app: Flask) -> Env:
    return Env(app)


@pytest.fixture
def make_env(tmp_path: Path, migrated_template: Path):  # type: ignore[no-untyped-def]
    """An Env with settings overridden, e.g. make_env(ratelimit="3/minute")."""
    made: list[Flask] = []
    counter = iter(range(1000))

    def factory(**overrides: Any) -> Env:
        directory = tmp_path / f"app{next(counter)}"
        directory.mkdir()
        application = build_app(directory, migrated_template, **overrides)
        made.append(application)
        return Env(application)

    yield factory
    for application in made:
        application.extensions["dbconnector"].engine.dispose()


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    """The wall clock tokens are checked against, moved on with clock.shift(seconds) instead of
    slept through (time_machine; it ticks on as usual in between)."""
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture
def in_threads():  # type: ignore[no-untyped-def]
    """in_threads(work, args): run work(arg) for every arg at once, one thread each, and wait
    (bounded) for all of them: for races between processes' code paths."""

    def run(work: Any, args: list[Any], timeout: float = 30.0) -> None:
        threads = [threading.Thread(target=work, args=(arg,)) for arg in args]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
        assert not any(thread.is_alive() for thread in threads)

    return run


# What every served instance of the tests starts with: the demo, OWNER as its owner.
SERVED_SETTINGS = {
    "DBCONNECTOR_DEMO": "1",
    "DBCONNECTOR_OWNER_USERNAME": OWNER[0],
    "DBCONNECTOR_OWNER_PASSWORD": OWNER[1],
    "DBCONNECTOR_BCRYPT_ROUNDS": "4",
    "DBCONNECTOR_LOG_LEVEL": "WARNING",
    # The tests' own SQLite targets live in pytest's temp dirs.
    "DBCONNECTOR_SQLITE_ROOTS": str(Path(tempfile.gettempdir()).resolve()),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """`served(**DBCONNECTOR_settings)`: `dbconnector serve` (gunicorn) on a free loopback port,
    with the demo seeded and OWNER as its owner; every one started is stopped when the module's
    tests are done."""
    from tests.live.private_servers import Service

    started: list[Service] = []

    def start(**settings: str) -> Service:
        data_dir = tmp_path_factory.mktemp("served")
        service = Service(data_dir, **{**SERVED_SETTINGS, **settings})
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()
