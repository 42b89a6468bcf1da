"""The `bare_flask` reference: the framework's ceiling for the benchmark's select scenarios.

A minimal Flask app served by gunicorn with the project's own gunicorn.conf.py. It runs the same SQL
the service sends, on an engine built by the same driver code (same pool, same connect options),
and encodes rows with the service's own encoder, but has no authentication, validation, limiter,
connection lookup or statement compiler. BENCH_TARGETS (JSON: driver -> connection string) names
the targets.

    gunicorn -c gunicorn.conf.py --chdir bench bare_app:app
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator

from flask import Flask, Response, request

from dbconnector.config import Settings
from dbconnector.drivers import driver_named
from dbconnector.drivers.base import FETCH_ROWS, Target
from dbconnector.results import encode_rows

SELECT_PK = "SELECT * FROM bench WHERE id = {m} LIMIT 1001"
SELECT_PAGE = "SELECT * FROM bench ORDER BY id ASC LIMIT {m} OFFSET {m}"

app = Flask("bare")
settings = Settings.from_env().validated()
engines = {}
for name, spec in json.loads(os.environ.get("BENCH_TARGETS", "{}")).items():
    driver = driver_named(name)
    target = Target(
        connection_id=0,
        token=name,
        driver=driver,
        spec=spec,
        fingerprint=hashlib.sha256(json.dumps(spec).encode()).hexdigest(),
        connect_timeout=settings.connect_timeout,
        statement_timeout=settings.statement_timeout,
    )
    engines[name] = (driver, driver.make_engine(target, settings))


@app.get("/ok")
def ok() -> Response:
    return Response(b"{}", mimetype="application/json")


@app.post("/select/<name>")
def select(name: str) -> Response:
    driver, engine = engines[name]
    body = request.get_json()
    mark = "?" if name == "sqlite" else "%s"
    if body.get("filter"):
        sql, params = SELECT_PK.format(m=mark), (body["filter"][0]["id"],)
    else:
        sql, params = SELECT_PAGE.format(m=mark), (body["limit"], body["page"] * body["limit"])
    with engine.connect() as conn:
        if driver.read_options:  # as the service runs a select
            conn = conn.execution_options(**driver.read_options)
        result = conn.exec_driver_sql(sql, params)
        columns = list(result.keys())
        rows = result.cursor.fetchall()
    return Response(b"[" + encode_rows(columns, rows) + b"]", mimetype="application/json")


@app.post("/stream/<name>")
def stream(name: str) -> Response:
    """stream_1m's reference: every row of `million`, fetched and written FETCH_ROWS at a time
    on a server-side cursor, as the service streams a large select."""
    _, engine = engines[name]
    conn = engine.connect()
    result = conn.execution_options(stream_results=True, max_row_buffer=FETCH_ROWS).exec_driver_sql(
        "SELECT * FROM million"
    )
    columns = list(result.keys())

    def body() -> Iterator[bytes]:
        try:
            separator = b"["
            while rows := result.fetchmany(FETCH_ROWS):
                yield separator + encode_rows(columns, rows)
                separator = b","
            yield b"]" if separator == b"," else b"[]"
        finally:
            result.close()
            conn.close()

    return Response(body(), mimetype="application/json")
