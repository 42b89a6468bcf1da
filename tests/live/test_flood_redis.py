"""Flood control counted in a live Redis: two instances share one count per user."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from dbconnector.lib.roles import Role
from tests.support.app import Caller, Env, build_app

pytestmark = pytest.mark.live


def two_instances(tmp_path: Path, template: Path, **settings: Any) -> list[Flask]:
    """Two apps sharing one metadata database, as two containers behind a load balancer."""
    shared = tmp_path / "shared.db"
    shutil.copy(template, shared)
    apps = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        apps.append(
            build_app(tmp_path / name, template, database_url=f"sqlite:///{shared}", **settings)
        )
    return apps


def test_two_instances_share_a_users_count_in_redis(tmp_path, migrated_template, redis_url):
    first_app, second_app = two_instances(
        tmp_path, migrated_template, ratelimit="4/minute", ratelimit_storage_url=redis_url
    )
    user = Env(first_app).user(Role.READ)
    on_second = Caller(second_app.test_client(), user.token)
    path = f"/v1/users/{user.userid}"
    for caller in (user, on_second, user, on_second):
        assert caller.get(path).get_json()[0]["ID"] == user.userid
    # four calls made across both instances: the fifth, on either, is a flood
    assert on_second.get(path).get_json() == {"error": "No Data"}
    assert user.get(path).get_json() == {"error": "No Data"}


def test_memory_storage_counts_per_instance(tmp_path, migrated_template):
    """The contrast: without Redis each instance keeps its own count."""
    first_app, second_app = two_instances(tmp_path, migrated_template, ratelimit="1/minute")
    user = Env(first_app).user(Role.READ)
    path = f"/v1/users/{user.userid}"
    assert user.get(path).status_code == 200
    assert Caller(second_app.test_client(), user.token).get(path).get_json()[0]["ID"] == user.userid


def test_login_limit_shared_in_redis(tmp_path, migrated_template, redis_url):
    apps = two_instances(
        tmp_path, migrated_template, auth_ratelimit="2/minute", ratelimit_storage_url=redis_url
    )
    callers = [Caller(app.test_client(), addr="192.0.2.10") for app in apps]
    body = {"username": "x@y", "password": "guess-guess"}
    assert callers[0].post("/v1/auth", body).status_code == 401
    assert callers[1].post("/v1/auth", body).status_code == 401
    assert callers[0].post("/v1/auth", body).get_json() == {"error": "No Data"}


def test_redis_stopping_and_returning_moves_counting_to_memory_and_back(
    tmp_path, migrated_template, caplog, clock
):
    """A private redis-server, stopped while it holds the counters, then started again."""
    import subprocess
    import time

    import redis

    from tests.support.live import require
    from tests.support.servers import free_port

    binary = require("redis-server", lambda: shutil.which("redis-server") or 1 / 0)
    port = free_port()

    def start() -> subprocess.Popen:
        server = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                return server
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("private redis-server did not start")

    server = start()
    try:
        app = build_app(
            tmp_path,
            migrated_template,
            ratelimit="3/minute",
            ratelimit_storage_url=f"redis://127.0.0.1:{port}/0",
        )
        env = Env(app)
        user = env.user(Role.READ)
        path = f"/v1/users/{user.userid}"
        assert user.get(path).status_code == 200
        assert redis.Redis(port=port).keys(f"*dbc/{user.userid}/user*")  # counted in Redis
        server.kill()
        server.wait()
        assert [user.get(path).status_code for _ in range(3)] == [200, 200, 200]
        assert user.get(path).get_json() == {"error": "No Data"}  # memory enforces the limit
        assert caplog.text.count("Rate limit storage unreachable") == 1
        server = start()
        # Flask-Limiter probes a dead storage again after 1, 2, 4... seconds of its clock
        clock.shift(8)
        other = env.user(Role.READ)
        assert other.get(f"/v1/users/{other.userid}").status_code == 200
        assert "Rate limit storage recovered" in caplog.text
        assert redis.Redis(port=port).keys(f"*dbc/{other.userid}/user*")  # back in Redis
    finally:
        server.kill()
        server.wait()
