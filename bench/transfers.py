"""The transfer scenarios (issue 14): a transfer job through the served service, timed from the
submit to its "succeeded", beside a bare reference in the same run.

- transfer_1m_pg_pg: the 1,000,000-row `million` table into a table in a second PostgreSQL
  database; the reference is psycopg's `COPY (SELECT ...) TO STDOUT` piped into `COPY ... FROM
  STDIN`, with no HTTP and no job. Also the largest RSS growth of any service worker.
- transfer_100k_pg_mysql, transfer_100k_sqlite_pg: the 100,000-row `bench` table; the reference
  is a driver-to-driver loop (fetchmany of 5,000 rows, then the target's bulk write: PyMySQL's
  executemany, psycopg's COPY write_row).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import targets as target_setup
from served import PeakRss, Server, fetch_json
from targets import MYSQL, PG, STREAM_ROWS, Target

TRANSFERS = {
    # scenario: (source backend, source table, target backend, rows)
    "transfer_1m_pg_pg": ("postgresql", "million", "postgresql", STREAM_ROWS),
    "transfer_100k_pg_mysql": ("postgresql", "bench", "mysql", target_setup.ROWS),
    "transfer_100k_sqlite_pg": ("sqlite", "bench", "postgresql", target_setup.ROWS),
}
BATCH = 5000
COLUMNS = {
    "million": "id INTEGER, name TEXT, score INTEGER, created TIMESTAMPTZ",
    "bench": "id INTEGER, name VARCHAR(100), score INTEGER",
}
POLL = 0.02


def second_postgres() -> Target | None:
    """The PostgreSQL database transfers land in (dropped at the end like the others)."""
    return target_setup.scratch_postgres()


def fresh_table(target: Target, table: str, shape: str) -> None:
    """An empty table `table` of `shape` on the target (dropped first if a run left one)."""
    conn = target.connect()
    try:
        cursor = conn.cursor()
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        columns = shape if target.name == "postgresql" else shape.replace("TEXT", "VARCHAR(100)")
        cursor.execute(f"CREATE TABLE {table} ({columns})")
        if target.name == "mysql":
            conn.commit()
    finally:
        conn.close()


def count(target: Target, table: str) -> int:
    conn = target.connect()
    try:
        cursor = conn.cursor()
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return int(cursor.fetchone()[0])
    finally:
        conn.close()


# --- the references ------------------------------------------------------------------------------


def copy_pipe(source: Target, target: Target, table: str, into: str) -> None:
    """PostgreSQL to PostgreSQL at the drivers' limit: COPY out piped into COPY in."""
    import psycopg

    with (
        psycopg.connect(dbname=source.spec["database"], **PG) as out_conn,
        psycopg.connect(dbname=target.spec["database"], **PG) as in_conn,
    ):
        with (
            out_conn.cursor().copy(f"COPY (SELECT * FROM {table}) TO STDOUT") as out,
            in_conn.cursor().copy(f"COPY {into} FROM STDIN") as into_copy,
        ):
            for data in out:
                into_copy.write(data)
        in_conn.commit()


def driver_loop(source: Target, target: Target, table: str, into: str) -> None:
    """fetchmany from the source's driver, the target driver's bulk write, one transaction."""
    reader = source.connect()
    writer = _writer(target)
    try:
        cursor = reader.cursor(name="bench") if source.name == "postgresql" else reader.cursor()
        if source.name == "postgresql":
            reader.autocommit = False
        cursor.execute(f"SELECT * FROM {table}")
        width = len(cursor.description)
        write = _bulk(target, writer, into, width)
        while rows := cursor.fetchmany(BATCH):
            write(rows)
        writer.commit()
    finally:
        reader.close()
        writer.close()


def _writer(target: Target) -> Any:
    if target.name == "postgresql":
        import psycopg

        return psycopg.connect(dbname=target.spec["database"], **PG)
    import pymysql

    return pymysql.connect(database=target.spec["database"], **MYSQL)


def _bulk(target: Target, conn: Any, into: str, width: int) -> Callable[[list], None]:
    if target.name == "postgresql":

        def copy(rows: list) -> None:
            with conn.cursor().copy(f"COPY {into} FROM STDIN") as stream:
                for row in rows:
                    stream.write_row(row)

        return copy
    sql = f"INSERT INTO {into} VALUES ({', '.join(['%s'] * width)})"
    return lambda rows: conn.cursor().executemany(sql, rows)


# --- the service ---------------------------------------------------------------------------------


def service_once(
    server: Server, token: str, tokens: tuple[str, str], table: str, into: str
) -> dict[str, Any]:
    """One transfer job from submit to its end, every worker's RSS sampled every 20 ms."""
    body = {
        "source": {"token": tokens[0], "table": table},
        "target": {"token": tokens[1], "table": into, "mode": "append"},
        "batchSize": BATCH,
    }
    started = time.perf_counter()
    with PeakRss(server.workers()) as rss:
        job_id = fetch_json(server, "POST", "/v1/jobs/transfer", body, token)["jobId"]
        while True:
            job = fetch_json(server, "GET", f"/v1/jobs/{job_id}", None, token)
            if job["status"] not in ("queued", "running"):
                break
            time.sleep(POLL)
        seconds = time.perf_counter() - started
    return {
        "status": job["status"],
        "rows": job["progress"]["rowsWritten"],
        "seconds": round(seconds, 2),
        "rss_growth_mb": round(rss.growth_mb, 1),
        "error": job["error"],
    }


def measure(
    scenario: str,
    server: Server,
    login: Callable[[], str],
    tokens: tuple[str, str],
    source: Target,
    target: Target,
    runs: int,
    median: Callable[[list[dict[str, Any]]], dict[str, Any]],
) -> dict[str, Any]:
    """`runs` turns of (the service's transfer job, the bare reference), each into an empty table;
    the median run of each and their ratio."""
    _, table, _, rows = TRANSFERS[scenario]
    reference = copy_pipe if scenario == "transfer_1m_pg_pg" else driver_loop
    shape = COLUMNS[table]
    service_runs, reference_runs = [], []
    for _ in range(runs):
        fresh_table(target, "landed", shape)
        run = service_once(server, login(), tokens, table, "landed")
        landed = count(target, "landed")
        run["rows_per_s"] = round(rows / run["seconds"])
        run["errors"] = 0 if run["status"] == "succeeded" and landed == rows else 1
        service_runs.append(run)
        fresh_table(target, "landed_ref", shape)
        started = time.perf_counter()
        reference(source, target, table, "landed_ref")
        seconds = time.perf_counter() - started
        reference_runs.append(
            {
                "seconds": round(seconds, 2),
                "rows_per_s": round(rows / seconds),
                "errors": 0 if count(target, "landed_ref") == rows else 1,
            }
        )
    outcome = median(service_runs)
    outcome["reference"] = median(reference_runs)
    outcome["reference_kind"] = reference.__name__
    outcome["service_vs_reference"] = round(
        outcome["rows_per_s"] / outcome["reference"]["rows_per_s"], 3
    )
    return outcome
