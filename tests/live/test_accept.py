"""gunicorn.conf.py's EvenThreadWorker on a served instance: a worker holding more connections
than another does not accept new ones, so kept-alive connections spread evenly (issue 12,
part 3), even when one worker was asleep while they arrived."""

from __future__ import annotations

import http.client
import threading
import time

import pytest

from tests.support.servers import Service, _accepted_sockets, _socket_inodes

pytestmark = pytest.mark.live


def test_connections_opened_while_a_worker_sleeps_still_spread_over_both(tmp_path):
    service = Service(tmp_path)
    opened: list[http.client.HTTPConnection] = []
    try:
        deadline = time.monotonic() + 30
        while len(service.workers()) < 2:
            assert time.monotonic() < deadline, "the workers did not all start"
            time.sleep(0.1)
        first, second = service.workers()
        answers: list[int] = []

        def keep_alive() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
            opened.append(conn)
            conn.request("GET", "/admin/ok")  # HTTP/1.1: the connection stays open
            response = conn.getresponse()
            response.read()
            answers.append(response.status)

        clients = [threading.Thread(target=keep_alive) for _ in range(8)]
        with service.only(first):  # the second worker is stopped while all eight connect
            for client in clients:
                client.start()
            until = time.monotonic() + 2  # gunicorn's gthread takes and answers all eight
            while len(answers) < 8 and time.monotonic() < until:
                time.sleep(0.05)
        for client in clients:
            client.join(30)
        assert answers == [200] * 8
        held = _accepted_sockets(service.port)
        per_worker = [len(held & _socket_inodes(pid)) for pid in (first, second)]
    finally:
        for conn in opened:
            conn.close()
        service.stop()
    assert sum(per_worker) == 8 and min(per_worker) >= 3, per_worker
