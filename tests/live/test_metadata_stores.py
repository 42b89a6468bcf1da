"""The metadata store on live PostgreSQL (and SQL Server/Babelfish when configured): migrations,
the API end to end, and row locking."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from dbconnector.auth.roles import Role
from dbconnector.drivers.confinement import METADATA_SERVER
from dbconnector.store.db import make_engine, write
from dbconnector.store.migrate import upgrade
from tests.support.app import OWNER, Env, build_app

pytestmark = pytest.mark.live


TABLES = (
    "job_pages",
    "jobs",
    "refresh_tokens",
    "grants",
    "connections",
    "users",
    "alembic_version",
)


def _migrated(url: str) -> str:
    engine = make_engine(url)
    with engine.begin() as conn:  # a clean slate, whatever an earlier run left
        for table in TABLES:
            conn.execute(
                text(f"DROP TABLE IF EXISTS {engine.dialect.identifier_preparer.quote(table)}")
            )
    upgrade(engine)
    upgrade(engine)  # idempotent: a second run finds nothing to do
    assert set(TABLES) <= set(inspect(engine).get_table_names())
    engine.dispose()
    return url


@pytest.fixture(scope="module", params=["postgresql", "mssql"])
def metadata_url(request) -> str:
    if request.param == "postgresql":
        return _migrated(request.getfixturevalue("postgres_server_url"))
    return _migrated(request.getfixturevalue("mssql_url").replace("mssql://", "mssql+pymssql://"))


def _env(tmp_path, template, url) -> Iterator[Env]:
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in TABLES[:-1]:
            conn.execute(text(f"DELETE FROM {engine.dialect.identifier_preparer.quote(table)}"))
    engine.dispose()
    app = build_app(tmp_path, template, database_url=url)
    yield Env(app)
    app.extensions["dbconnector"].engine.dispose()


@pytest.fixture
def store_env(tmp_path, migrated_template, metadata_url) -> Iterator[Env]:
    yield from _env(tmp_path, migrated_template, metadata_url)


@pytest.fixture
def pg_env(tmp_path, migrated_template, postgres_server_url) -> Iterator[Env]:
    yield from _env(tmp_path, migrated_template, _migrated(postgres_server_url))


def test_metadata_store_end_to_end(store_env):
    env = store_env
    assert env.services.engine.dialect.name in ("postgresql", "mssql")
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


@pytest.mark.parametrize("same_id", [False, True])
def test_a_deleted_users_token_is_refused_after_a_new_admin(store_env, same_id):
    """leaver's token, after leaver is deleted and new-admin created (then, to stand for a
    reused id, moved onto leaver's id): 401 Bad Token, not new-admin's rights."""
    leaver, new_id = store_env.leaver_after_new_admin(same_id=same_id)
    assert (new_id == leaver.userid) is same_id
    answer = leaver.get("/v1/users")
    assert answer.status_code == 401 and answer.get_json() == {"error": "Bad Token"}


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


def test_concurrent_refreshes_with_one_token_count_as_a_reuse(pg_env):
    """Two instances race with the same refresh token: one wins, the other is a reuse, and the
    reuse revokes the winner's fresh pair too."""
    env = pg_env
    user = env.user(Role.READ)
    barrier = threading.Barrier(2)
    results: list = []

    def race() -> None:
        barrier.wait()
        results.append(user.post("/v1/auth/refresh", {"refresh_token": user.refresh_token}))

    threads = [threading.Thread(target=race) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.sort(key=lambda response: response.status_code)
    assert [response.status_code for response in results] == [200, 401]
    assert results[1].get_json() == {"error": "Bad Token"}
    winner = results[0].get_json()
    response = env.anon.call(
        "GET",
        f"/v1/users/{user.userid}",
        headers={"Authorization": f"Bearer {winner['authToken']}"},
    )
    assert response.status_code == 401 and response.get_json() == {"error": "Bad Token"}


# --- the metadata store is never a target (whatever the driver or the host's spelling) ---------


def _specs(url: str) -> dict[str, dict]:
    parts = make_url(url)
    base = {"database": parts.database, "user": parts.username or "postgres"}
    return {
        "address": {"driver": "postgresql", "host": "127.0.0.1", "port": 5432, **base},
        "localhost": {"driver": "postgresql", "host": "localhost", **base},
        "socket": {"driver": "postgresql", "host": "/var/run/postgresql", **base},
        "no host": {"driver": "postgresql", **base},
        "port as text": {"driver": "postgresql", "host": "127.0.0.1", "port": "5432", **base},
        "case": {
            **base,
            "driver": "postgresql",
            "host": "LOCALHOST",
            "database": base["database"].upper(),
        },
        "another driver": {"driver": "mysql", "host": "127.0.0.1", "port": 5432, **base},
        "undeclared": {"host": "127.0.0.1", "port": 5432, **base},
        # libpq tries every host of a list, and takes the user's name for a missing database
        "host list": {
            "driver": "postgresql",
            "host": "nonexistent.invalid,127.0.0.1",
            "port": 5432,
            **base,
        },
        "database from the user": {
            "driver": "postgresql",
            "host": "127.0.0.1",
            "user": base["database"],
        },
    }


def test_the_postgresql_metadata_store_is_never_a_target(pg_env, postgres_server_url):
    env = pg_env
    admin = env.user(Role.ADMIN)
    specs = _specs(postgres_server_url)
    for form, spec in specs.items():
        answer = admin.post("/v1/connections", {"name": form, "connectionString": spec})
        assert answer.status_code == 400, (form, answer.get_json())
        assert answer.get_json() == {"error": METADATA_SERVER}
    other = {**specs["address"], "database": "postgres"}  # the same server, another database
    made = admin.post("/v1/connections", {"name": "other", "connectionString": other})
    assert made.status_code == 201, made.get_json()
    token = made.get_json()["connToken"]
    changed = admin.patch(f"/v1/connections/{token}", {"connectionString": specs["localhost"]})
    assert changed.get_json() == {"error": METADATA_SERVER}

    svc = env.services
    escalate = f"UPDATE users SET role = 4096 WHERE username = '{admin.username}'"
    for form in ("address", "host list"):
        with write(svc.engine) as conn:  # a row an unfixed version accepted
            old = svc.connections.create(
                conn, name=f"old {form}", connection_string=json.dumps(specs[form])
            )
        answer = admin.post("/v1/query/postgresql", {"token": old, "statement": escalate})
        assert answer.status_code == 400 and answer.get_json() == {"error": METADATA_SERVER}
    roles = {u["Username"]: u["Role"] for u in env.owner.get("/v1/users").get_json()}
    assert roles[admin.username] == int(Role.ADMIN) and roles[OWNER[0]] == int(Role.OWNER)
    fine = admin.post("/v1/query/postgresql", {"token": token, "statement": "SELECT 1 AS one"})
    assert fine.status_code == 200 and fine.get_json() == [{"one": 1}], fine.get_json()


def test_jobs_queue_and_pages_on_the_metadata_store(store_env, tmp_path, in_threads):
    from dbconnector.execution.jobs.queue import Queue
    from dbconnector.store.seed import build_demo_target

    env = store_env
    target = tmp_path / "jobs-target.db"
    build_demo_target(target)
    token = env.connection({"driver": "sqlite", "database": str(target)}, name="jobs-target")
    # The last job is another user's: the owner's five stay running, and this app's worker
    # starts no more of one user's jobs than DBCONNECTOR_JOB_MAX_RUNNING (2).
    reader = env.user(Role.READ)
    env.grant(token, reader)
    submitted = []
    for caller in [env.owner] * 5 + [reader]:
        answer = caller.post("/v1/jobs/select/sqlite", {"token": token, "table": "testTable"})
        assert answer.status_code == 202, answer.get_json()
        submitted.append(answer.get_json()["jobId"])
    # Three processes' queues racing for the first five: each job is claimed once.
    queues = [Queue(env.services.engine, 30) for _ in range(3)]
    claimed: list[str] = []

    def claim(queue: Queue) -> None:
        for _ in range(2):
            job = queue.claim()
            if job is not None:
                claimed.append(job.id)

    in_threads(claim, queues)
    assert len(claimed) == len(set(claimed)) == 6
    # Released back to the queue by hand, the last one runs through this app's worker.
    last = submitted[-1]
    with write(env.services.engine) as conn:
        conn.execute(
            text("UPDATE jobs SET status = 'queued', lease_owner = NULL WHERE id = :id"),
            {"id": last},
        )
    assert env.services.jobs.run_one() == "succeeded"
    page = env.owner.get(f"/v1/jobs/{last}/results/0?offset=6&limit=5").get_json()
    assert [row["ID"] for row in page["rows"]] == [7, 8] and page["total"] == 8
    listed = env.owner.get("/v1/jobs?status=running").get_json()
    assert len(listed) == 5
