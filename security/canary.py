"""A deliberately injectable stand-in for POST /v1/select, for `make security` only.

`make security` scans this first, with the very command it then aims at the service, and refuses
to report "nothing injectable" unless sqlmap finds this injection: a harness that cannot see a
real injection proves nothing. It is never imported by the service, listens on loopback only and
lives only as long as that one scan.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, jsonify, request
from werkzeug.serving import make_server


def _app(database: Path) -> Flask:
    app = Flask("canary")

    @app.post("/v1/select/<driver>")
    def select(driver: str):  # type: ignore[no-untyped-def]
        body = request.get_json(force=True, silent=True) or {}
        try:
            ((key, value),) = body["filter"][0].items()
            # The flaw on purpose: the filter value pasted into the SQL text.
            sql = f'SELECT * FROM "{body["table"]}" WHERE "{key}" = \'{value}\''
            with sqlite3.connect(database) as db:
                rows = db.execute(sql).fetchall()
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, sqlite3.Error):
            return jsonify(error="Bad request"), 400
        return jsonify([list(row) for row in rows])

    return app


@contextmanager
def serve_canary(database: Path) -> Iterator[str]:
    """Serve the canary over `database` (a SQLite file with testTable); yield its base URL."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # not a line per sqlmap request
    server = make_server("127.0.0.1", 0, _app(database), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
