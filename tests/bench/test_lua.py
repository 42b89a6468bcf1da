"""bench/lua/scenario.lua's error accounting, through bench/wrk.py and a real wrk against a small
local HTTP server (the benchmark itself never runs in the test suite)."""

from __future__ import annotations

import shutil
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import wrk

# In order, again and again: a good answer, flood control's 200 {"error": "No Data"}, a 403, and a
# 200 with an empty body.
REPLIES = [(200, b'[{"id":1}]'), (200, b'{"error":"No Data"}'), (403, b"{}"), (200, b"")]


class _Replies(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as wrk expects
    served = 0

    def do_GET(self) -> None:
        status, body = REPLIES[type(self).served % len(REPLIES)]
        type(self).served += 1
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_error_bodies_and_bad_statuses_count_as_errors() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Replies)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run = wrk.run(f"http://127.0.0.1:{server.server_port}/", "get", 1, 1)
    finally:
        server.shutdown()
        server.server_close()
    # One connection, so the answers wrk counted are the first `requests` ones in order; wrk's
    # script check does not reach the server.
    good = sum(1 for i in range(run.requests) if i % len(REPLIES) == 0)
    assert run.requests >= len(REPLIES)
    assert run.errors == run.requests - good
