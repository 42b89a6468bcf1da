"""Slow clients under gunicorn: a client that sends its headers and then withholds its body is cut
off after DBCONNECTOR_BODY_TIMEOUT with a 408, so it cannot hold the worker threads; and the
heartbeat has a thread of its own, so /admin/ok answers while every other thread is held."""

from __future__ import annotations

import json
import socket
import time

import pytest

BODY_TIMEOUT = 2.0
SLOW = 6  # more than the instance's 1 x 2 threads


@pytest.fixture(scope="module")
def service(served):  # type: ignore[no-untyped-def]
    return served(
        DBCONNECTOR_WORKERS="1",
        DBCONNECTOR_THREADS="2",
        DBCONNECTOR_BODY_TIMEOUT=str(BODY_TIMEOUT),
    )


def _slow(port: int) -> socket.socket:
    """Headers and one byte of a 1000-byte body, then nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        b"POST /v1/auth HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    return sock


def _answer(sock: socket.socket) -> tuple[int, dict]:
    raw = b""
    while b"\r\n\r\n" not in raw or not raw.rstrip().endswith(b"}"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_a_withheld_body_is_cut_off_and_other_callers_are_served(service):
    slow = [_slow(service.port) for _ in range(SLOW)]
    try:
        started = time.monotonic()
        # An ordinary call queues behind the held threads, and gets its turn once they are cut.
        status, body = service.call(
            "POST", "/v1/auth", {"username": "nobody", "password": "x"}, timeout=30
        )
        waited = time.monotonic() - started
        assert (status, body) == (401, {"error": "Invalid username or password"})
        assert waited < 3 * BODY_TIMEOUT + 3, waited
        for sock in slow:
            status, body = _answer(sock)
            assert status == 408
            assert body == {
                "error": "The request body did not arrive in time (DBCONNECTOR_BODY_TIMEOUT)"
            }
    finally:
        for sock in slow:
            sock.close()


def test_the_heartbeat_answers_while_slow_clients_hold_every_thread(service):
    slow = [_slow(service.port) for _ in range(SLOW)]
    try:
        ends = time.monotonic() + 2 * BODY_TIMEOUT
        while time.monotonic() < ends:
            started = time.monotonic()
            assert service.call("GET", "/admin/ok", timeout=30) == (200, {})
            assert time.monotonic() - started < BODY_TIMEOUT / 2
            time.sleep(0.1)
    finally:
        for sock in slow:
            sock.close()
