"""Flood control counted in a live Redis: two instances share one count per user."""

from __future__ import annotations

import shutil

import pytest

from dbconnector.auth.roles import Role
from tests.conftest import Caller, Env, build_app

pytestmark = pytest.mark.live


def test_two_instances_share_a_users_count_in_redis(tmp_path, migrated_template, redis_url):
    db = tmp_path / "shared.db"
    shutil.copy(migrated_template, db)
    settings = {
        "database_url": f"sqlite:///{db}",
        "ratelimit": "4/minute",
        "ratelimit_storage_url": redis_url,
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = Env(build_app(tmp_path / "a", migrated_template, **settings))
    second_app = build_app(tmp_path / "b", migrated_template, **settings)
    user = first.user(Role.READ)
    on_second = Caller(second_app.test_client(), user.token)
    path = f"/v1/users/{user.userid}"
    assert [user.get(path).status_code, on_second.get(path).status_code] == [200, 200]
    assert user.get(path).get_json()[0]["ID"] == user.userid
    assert on_second.get(path).get_json()[0]["ID"] == user.userid
    # four calls made across both instances: the fifth, on either, is a flood
    assert on_second.get(path).get_json() == {"error": "No Data"}
    assert user.get(path).get_json() == {"error": "No Data"}


def test_memory_storage_counts_per_instance(tmp_path, migrated_template):
    """The contrast: without Redis each instance keeps its own count."""
    db = tmp_path / "shared.db"
    shutil.copy(migrated_template, db)
    settings = {"database_url": f"sqlite:///{db}", "ratelimit": "1/minute"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = Env(build_app(tmp_path / "a", migrated_template, **settings))
    second_app = build_app(tmp_path / "b", migrated_template, **settings)
    user = first.user(Role.READ)
    path = f"/v1/users/{user.userid}"
    assert user.get(path).status_code == 200
    assert Caller(second_app.test_client(), user.token).get(path).get_json()[0]["ID"] == user.userid


def test_login_limit_shared_in_redis(tmp_path, migrated_template, redis_url):
    db = tmp_path / "shared.db"
    shutil.copy(migrated_template, db)
    settings = {
        "database_url": f"sqlite:///{db}",
        "auth_ratelimit": "2/minute",
        "ratelimit_storage_url": redis_url,
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    apps = [build_app(tmp_path / d, migrated_template, **settings) for d in ("a", "b")]
    callers = [Caller(app.test_client(), addr="192.0.2.10") for app in apps]
    body = {"username": "x@y", "password": "guess-guess"}
    assert callers[0].post("/v1/auth", body).status_code == 401
    assert callers[1].post("/v1/auth", body).status_code == 401
    assert callers[0].post("/v1/auth", body).get_json() == {"error": "No Data"}
