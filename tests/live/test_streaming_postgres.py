"""A select that fails after it started streaming: the body is cut short, never passed off as a
complete (shorter) result, and the connection is not reused."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine

from tests.support.backends import connection_for

pytestmark = pytest.mark.live


def target_with(env, url: str, ddl: str) -> str:
    """Run `ddl` on the scratch database and store a connection to it; returns the connToken."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(ddl)
    engine.dispose()
    return env.connection(connection_for(url, "postgresql", 5432))


def test_failure_mid_stream_leaves_invalid_json(env, postgres_server_url):
    token = target_with(
        env,
        postgres_server_url,
        "CREATE OR REPLACE VIEW fails_late AS "
        "SELECT x, 1 / (x - 2500) AS y FROM generate_series(1, 3000) AS x",
    )
    response = env.owner.post("/v1/select/postgresql", {"token": token, "table": "fails_late"})
    assert response.status_code == 200 and response.is_streamed
    body = response.get_data()
    assert body.startswith(b'[{"x":1,"y":')
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    # the next call is served normally
    ok = env.owner.post("/v1/query/postgresql", {"token": token, "statement": "SELECT 1 AS one"})
    assert ok.get_json() == [{"one": 1}]


def test_failure_before_streaming_is_a_clean_400(env, postgres_server_url):
    token = target_with(
        env,
        postgres_server_url,
        "CREATE OR REPLACE VIEW fails_early AS "
        "SELECT x, 1 / (x - 5) AS y FROM generate_series(1, 3000) AS x",
    )
    response = env.owner.post("/v1/select/postgresql", {"token": token, "table": "fails_early"})
    assert response.status_code == 400
    assert response.get_json() == {"error": "division by zero"}


def test_a_large_select_is_never_held_whole_in_memory(env, postgres_server_url):
    import tracemalloc

    token = target_with(
        env,
        postgres_server_url,
        "CREATE TABLE IF NOT EXISTS large AS SELECT i AS id, 'name ' || i AS name, "
        "(i * 1.25)::numeric(12, 2) AS amount FROM generate_series(1, 250000) AS i",
    )
    tracemalloc.start()
    try:
        response = env.client.post(
            "/v1/select/postgresql",
            json={"token": token, "table": "large"},
            headers={"Authorization": f"Bearer {env.owner.token}"},
            buffered=False,
        )
        size = rows = 0
        for chunk in response.response:
            size += len(chunk)
            rows += chunk.count(b'{"id":')
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rows == 250_000 and size > 12_000_000
    assert peak < size / 4, f"{peak / 1e6:.1f} MB allocated for a {size / 1e6:.1f} MB response"
