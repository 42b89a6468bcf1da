"""GET /admin/metrics: Prometheus counters for requests, latency, rows, pools and flood refusals."""

from __future__ import annotations

import re
import sqlite3


def _value(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_count_requests_rows_and_pool_use(env, tmp_path):
    path = tmp_path / "m.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(1, 6)])
    token = env.connection({"driver": "sqlite", "database": str(path)}, name="metrics-db")
    before = env.client.get("/admin/metrics").get_data(as_text=True)
    for _ in range(3):
        assert (
            len(env.owner.post("/v1/select/sqlite", {"token": token, "table": "t"}).get_json()) == 5
        )
    response = env.client.get("/admin/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = response.get_data(as_text=True)
    select = {"endpoint": "/v1/select/<driver>", "method": "POST", "status": "200"}
    assert (
        _value(after, "dbc_requests_total", **select)
        - _value(before, "dbc_requests_total", **select)
        == 3
    )
    assert _value(after, "dbc_rows_returned_total", connection="metrics-db") == 15
    assert _value(after, "dbc_pool_checked_out", connection="metrics-db") == 0
    assert _value(after, "dbc_pool_open", connection="metrics-db") >= 1
    assert re.search(r'dbc_request_duration_seconds_bucket\{endpoint="/v1/select/<driver>"', after)
    assert token not in after


def test_flood_refusals_are_counted(make_env):
    env = make_env(ratelimit="2/minute")
    before = _value(
        env.client.get("/admin/metrics").get_data(as_text=True), "dbc_flood_refusals_total"
    )
    for _ in range(4):
        env.owner.get("/v1/users")
    after = _value(
        env.client.get("/admin/metrics").get_data(as_text=True), "dbc_flood_refusals_total"
    )
    assert after - before == 2


def test_metrics_only_for_the_allowlist(make_env):
    env = make_env(metrics_allowlist="10.0.0.0/8")
    response = env.client.get("/admin/metrics")
    assert response.status_code == 403 and response.get_json() == {}
    inside = env.client.get("/admin/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert inside.status_code == 200 and b"dbc_requests_total" in inside.data
