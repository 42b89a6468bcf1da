"""The load generator: several processes, each with threads holding keep-alive HTTP connections
(or psycopg connections, for the direct baseline), calling for a fixed time and recording each
call's latency. Separate processes keep the generator's own GIL from capping the service."""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from psycopg.rows import dict_row

ID_MARK = '"$id"'


@dataclass
class Measurement:
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds per successful call
    errors: int = 0
    bytes: int = 0

    @classmethod
    def merged(cls, seconds: float, parts: list[Measurement]) -> Measurement:
        total = cls(seconds)
        for part in parts:
            total.latencies += part.latencies
            total.errors += part.errors
            total.bytes += part.bytes
        return total

    @property
    def mean_bytes(self) -> int:
        return self.bytes // max(1, len(self.latencies))

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies) or [0.0]

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2)

        return {
            "rps": round(len(self.latencies) / self.seconds, 1),
            "p50_ms": round(statistics.median(lat) * 1000, 2),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "errors": self.errors,
            "calls": len(self.latencies),
        }


def _http_thread(spec: dict[str, Any], deadline: float, out: Measurement) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", spec["port"], timeout=60)
    body = json.dumps(spec["body"]) if spec.get("body") is not None else None
    while time.monotonic() < deadline:
        payload = body.replace(ID_MARK, str(random.randint(1, 8))) if body else None
        started = time.perf_counter()
        try:
            conn.request(spec["method"], spec["path"], body=payload, headers=spec["headers"])
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            out.errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", spec["port"], timeout=60)
            continue
        elapsed = time.perf_counter() - started
        if response.status != 200 or data.startswith(b'{"error"'):
            out.errors += 1
        else:
            out.latencies.append(elapsed)
            out.bytes += len(data)
    conn.close()


def _direct_thread(spec: dict[str, Any], deadline: float, out: Measurement) -> None:
    """The same query straight through psycopg, rows encoded as JSON like the service does."""
    with psycopg.connect(spec["dsn"], row_factory=dict_row) as conn:
        while time.monotonic() < deadline:
            params = (random.randint(1, 8),) if spec.get("param") else None
            started = time.perf_counter()
            rows = conn.execute(spec["sql"], params).fetchall()
            data = orjson.dumps(rows, default=str)
            if spec.get("commit"):
                conn.commit()
            else:
                conn.rollback()
            out.latencies.append(time.perf_counter() - started)
            out.bytes += len(data)


def _process(spec: dict[str, Any], seconds: float, threads: int) -> Measurement:
    target = _direct_thread if "dsn" in spec else _http_thread
    deadline = time.monotonic() + seconds
    parts = [Measurement(seconds) for _ in range(threads)]
    workers = [threading.Thread(target=target, args=(spec, deadline, part)) for part in parts]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return Measurement.merged(seconds, parts)


def measure(spec: dict[str, Any], seconds: float, concurrency: int) -> Measurement:
    """Run `concurrency` callers for `seconds`, spread over up to one process per CPU."""
    processes = max(1, min(os.cpu_count() or 1, concurrency))
    threads = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        parts = pool.starmap(_process, [(spec, seconds, n) for n in threads])
    return Measurement.merged(seconds, parts)
