"""bench/lua/scenario.lua's error accounting, through bench/wrk.py and a real wrk against a small
local HTTP server (the benchmark itself never runs in the test suite)."""

from __future__ import annotations

import json
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


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, str, bytes]] = []

    def _answer(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(size) if size else b""
        type(self).seen.append(
            (self.command, self.path, self.headers.get("Authorization", ""), body)
        )
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, *_: object) -> None:
        pass


def _recorded(path: str, mode: str, load: wrk.Load) -> list[tuple[str, str, str, bytes]]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run = wrk.run(f"http://127.0.0.1:{server.server_port}{path}", mode, 1, 1, load)
    finally:
        server.shutdown()
        server.server_close()
    assert run.errors == 0 and run.requests > 0
    return _Recorder.seen


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_job_page_and_select_1000_ask_for_the_same_pages() -> None:
    load = wrk.Load("tok", "conn", "bench", 5000)
    pages = _recorded("/v1/jobs/j1/results/0", "job_page", load)
    offsets = set()
    for method, path, auth, _ in pages:
        base, _, query = path.partition("?")
        offset, limit = (part.split("=")[1] for part in query.split("&"))
        assert (method, base, auth, limit) == ("GET", "/v1/jobs/j1/results/0", "Bearer tok", "1000")
        offsets.add(int(offset))
    assert offsets <= {0, 1000, 2000, 3000, 4000} and len(offsets) > 1
    selects = _recorded("/v1/select/postgresql", "select_1000", load)
    wanted = set()
    for method, path, auth, body in selects:
        request = json.loads(body)
        assert (method, path, auth) == ("POST", "/v1/select/postgresql", "Bearer tok")
        assert {k: request[k] for k in ("token", "table", "sort", "limit")} == {
            "token": "conn",
            "table": "bench",
            "sort": ["id"],
            "limit": 1000,
        }
        wanted.add(request["page"] * 1000)
    assert wanted <= {0, 1000, 2000, 3000, 4000} and len(wanted) > 1
