"""The metadata store on a live PostgreSQL: migrations, the API end to end, and row locking."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect, text

from dbconnector.auth.roles import Role
from dbconnector.migrate import upgrade
from dbconnector.store.db import make_engine
from tests.conftest import Env, build_app

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def pg_metadata_url(postgres_server_url: str) -> str:
    engine = make_engine(postgres_server_url)
    upgrade(engine)
    upgrade(engine)  # idempotent: a second run finds nothing to do
    assert {"users", "connections", "grants", "refresh_tokens", "alembic_version"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()
    return postgres_server_url


@pytest.fixture
def pg_env(tmp_path, migrated_template, pg_metadata_url) -> Iterator[Env]:
    engine = make_engine(pg_metadata_url)
    with engine.begin() as conn:
        conn.execute(
            text("TRUNCATE users, connections, grants, refresh_tokens RESTART IDENTITY CASCADE")
        )
    engine.dispose()
    app = build_app(tmp_path, migrated_template, database_url=pg_metadata_url)
    yield Env(app)
    app.extensions["dbconnector"].engine.dispose()


def test_postgres_metadata_end_to_end(pg_env):
    env = pg_env
    assert env.services.engine.dialect.name == "postgresql"
    user = env.user(Role.FULL, ttl="2m", ipaddresses="127.0.0.1")
    assert env.owner.get("/v1/users").get_json()[1] == {
        "ID": user.userid,
        "Username": user.username,
        "Password": "*****",
        "IPAddresses": "127.0.0.1",
        "Enabled": True,
        "Role": 4,
        "TTL": "2m",
    }
    dup = env.owner.post(
        "/v1/users", {"username": user.username, "password": "A-long-pass", "role": 1}
    )
    assert dup.status_code == 400 and dup.get_json() == {"error": "Username already exists."}

    token = env.connection({"host": "h", "password": "p"}, name="pg-stored")
    env.grant(token, user)
    assert user.get(f"/v1/users/{user.userid}/connections").get_json()[0]["Token"] == token
    assert env.owner.patch(f"/v1/connections/{token}", {"name": "renamed"}).status_code == 200
    assert env.owner.get(f"/v1/connections/{token}").get_json()[0]["Name"] == "renamed"

    response = user.post("/v1/auth/refresh", {"refresh_token": user.refresh_token})
    assert response.status_code == 200
    assert user.post("/v1/auth/refresh", {"refresh_token": user.refresh_token}).status_code == 401

    assert env.owner.delete(f"/v1/users/{user.userid}").status_code == 200
    assert env.owner.get(f"/v1/connection/{token}/users").get_json() == []  # grants cascaded
    assert env.owner.delete(f"/v1/connections/{token}").status_code == 200
    assert env.owner.get("/v1/connections").get_json() == []


def test_last_owner_is_kept_under_concurrent_demotions(pg_env):
    """Two OWNERs demote each other at the same moment: row locks keep one of them an OWNER."""
    env = pg_env
    second = env.user(Role.OWNER)
    barrier = threading.Barrier(2)
    results: dict[str, int] = {}

    def demote(name, caller, target):
        barrier.wait()
        results[name] = caller.patch(f"/v1/users/{target}", {"role": 2048}).status_code

    threads = [
        threading.Thread(target=demote, args=("a", env.owner, second.userid)),
        threading.Thread(target=demote, args=("b", second, 1)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) in ([200, 400], [200, 403])
    with env.services.engine.connect() as conn:
        owners = conn.execute(text("SELECT count(*) FROM users WHERE role & 4096 <> 0")).scalar()
    assert owners == 1
