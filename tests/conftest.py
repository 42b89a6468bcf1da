"""Shared fixtures: an app on a freshly migrated metadata database, callers with tokens, served
instances and a movable clock. The helpers behind them live in tests/support/ (app.py, servers.py,
live.py for real servers: with CI=true a missing server fails the test)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask

from dbconnector.store.db import make_engine
from dbconnector.store.migrate import upgrade
from tests.support.app import OWNER, Env, build_app
from tests.support.console import ConsoleClient
from tests.support.servers import SERVED_SETTINGS


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite metadata database migrated by Alembic, copied for each test (fast and real)."""
    path = tmp_path_factory.mktemp("template") / "dbconnector.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


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


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """`served(**DBCONNECTOR_settings)`: `dbconnector serve` (gunicorn) on a free loopback port,
    with the demo seeded and OWNER as its owner; every one started is stopped when the module's
    tests are done."""
    from tests.support.servers import Service

    started: list[Service] = []

    def start(**settings: str) -> Service:
        data_dir = tmp_path_factory.mktemp("served")
        service = Service(data_dir, **{**SERVED_SETTINGS, **settings})
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def console_as():  # type: ignore[no-untyped-def]
    """console_as(env, username=OWNER, password=...): a ConsoleClient signed in (asserted) to
    env's app; console_as(env, None) one that is not signed in."""

    def sign_in(
        env: Env, username: str | None = OWNER[0], password: str = OWNER[1], **kwargs: Any
    ) -> ConsoleClient:
        browser = ConsoleClient(env.app, **kwargs)
        if username is not None:
            answer = browser.sign_in(username, password)
            assert answer.status_code == 303, answer.get_data(as_text=True)
            browser.get("/console/dashboard")
        return browser

    return sign_in
