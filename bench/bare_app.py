"""The `bare_flask` reference: the framework's ceiling for the benchmark's scenarios.

A minimal Flask app served by gunicorn with the project's own gunicorn.conf.py. It runs the same SQL
the service sends, on an engine built by the same driver code (same pool, same connect options),
and encodes rows with the service's own encoder, but has no authentication, validation, limiter,
connection lookup or statement compiler. BENCH_TARGETS (JSON: driver -> connection string) names
the targets. `/ok` is the empty GET that `heartbeat` and `refresh` are held against; `/refresh`
does a refresh's own work with nothing around it (see there).

    gunicorn -c gunicorn.conf.py --chdir bench bare_app:app
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import orjson
from flask import Flask, Response, request

from dbconnector.config import Settings
from dbconnector.drivers import driver_named
from dbconnector.drivers.base import FETCH_ROWS, Target
from dbconnector.execution.results import encode_rows
from dbconnector.store.db import make_engine, write

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


# --- refresh: the work itself -----------------------------------------------------------------
# What every refresh of the service must do, with no framework, validation, limiter, logging or
# ORM around it: verify two HS256 tokens (PyJWT, the claims the service requires), then in one
# transaction on a SQLite database built as the service's metadata database is (same engine
# settings: WAL, synchronous=NORMAL, the same WriteLock), spend the refresh token's row with a
# compare-and-set, read the user, record the new refresh token; then sign the new pair.
# From the secret the environment gives every worker: a key drawn per worker refused the other
# worker's tokens, and the pairs lost that way turned most of the run into fast errors.
KEY = hashlib.sha256(settings.secret_key.encode()).digest()
REQUIRED = ["exp", "iat", "sub", "jti", "type"]
TOKENS = make_engine(f"sqlite:///{(settings.data_dir / 'bare_refresh.db').resolve()}")
with write(TOKENS) as setup:
    setup.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, token_generation INTEGER)"
    )
    setup.exec_driver_sql("INSERT OR IGNORE INTO users VALUES (1, 0)")
    setup.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS refresh_tokens (jti TEXT PRIMARY KEY, user_id INTEGER,"
        " access_jti TEXT, expires_at TEXT, spent_at TEXT)"
    )


def _pair(conn: Any, user_id: int, generation: int) -> dict[str, Any]:
    access_jti, refresh_jti, now = str(uuid.uuid4()), str(uuid.uuid4()), int(time.time())
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=900)
    conn.exec_driver_sql(
        "INSERT INTO refresh_tokens (jti, user_id, access_jti, expires_at) VALUES (?, ?, ?, ?)",
        (refresh_jti, user_id, access_jti, expires.isoformat()),
    )
    claims = {"sub": str(user_id), "iat": now, "nbf": now, "fresh": False, "gen": generation}
    access = {**claims, "type": "access", "jti": access_jti, "exp": now + 600}
    refresh = {**claims, "type": "refresh", "jti": refresh_jti, "ajti": access_jti}
    refresh["exp"] = now + 900
    return {"access": access, "refresh": refresh}


def _signed(pair: dict[str, Any], user_id: int) -> Response:
    body = {
        "userid": user_id,
        "authToken": jwt.encode(pair["access"], KEY, algorithm="HS256"),
        "refreshToken": jwt.encode(pair["refresh"], KEY, algorithm="HS256"),
    }
    return Response(orjson.dumps(body), mimetype="application/json")


@app.post("/pair")
def pair() -> Response:
    """A first pair, as a login would give (the benchmark seeds its queues with these)."""
    with write(TOKENS) as conn:
        made = _pair(conn, 1, 0)
    return _signed(made, 1)


@app.post("/refresh")
def refresh() -> Response:
    auth = request.headers["Authorization"].split()[1]
    options: Any = {"require": REQUIRED}
    access = jwt.decode(auth, KEY, algorithms=["HS256"], options={**options, "verify_exp": False})
    claims = jwt.decode(
        request.get_json()["refresh_token"], KEY, algorithms=["HS256"], options=options
    )
    if claims["ajti"] != access["jti"] or claims["sub"] != access["sub"]:
        return Response(b'{"error":"Bad Token"}', status=401, mimetype="application/json")
    user_id = int(claims["sub"])
    with write(TOKENS) as conn:
        spent = conn.exec_driver_sql(
            "UPDATE refresh_tokens SET spent_at = ? WHERE jti = ? AND user_id = ?"
            " AND access_jti = ? AND spent_at IS NULL",
            (dt.datetime.now(dt.UTC).isoformat(), claims["jti"], user_id, access["jti"]),
        )
        if spent.rowcount != 1:
            return Response(b'{"error":"Bad Token"}', status=401, mimetype="application/json")
        [generation] = conn.exec_driver_sql(
            "SELECT token_generation FROM users WHERE id = ?", (user_id,)
        ).one()
        made = _pair(conn, user_id, generation)
    return _signed(made, user_id)
