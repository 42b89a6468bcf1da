"""`make soak` (not in CI): the service under a fixed request rate through every endpoint for
SOAK_SECONDS (600), then a verdict. It passes with zero errors and every gunicorn worker's RSS
flat: the mean of the last minute within 10 % of the first minute after the warm-up.

    .venv/bin/python bench/soak.py [--seconds 120] [--rate 40]   (or SOAK_SECONDS / SOAK_RATE)
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import targets as target_setup
from run import OWNER, USER, call, environment, login, prepare_service
from served import Server, free_port, rss_kb


def options_from(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", "600"))
    )
    parser.add_argument(  # requests per second, all operations together
        "--rate", type=float, default=float(os.environ.get("SOAK_RATE", "50"))
    )
    return parser.parse_args(argv)


class Tokens:
    """An authToken for `who`, logged in again every 2 minutes (tokens live 3 to 10)."""

    def __init__(self, server: Server, who: tuple[str, str]) -> None:
        self.server, self.who = server, who
        self.token, self.at = "", 0.0
        self.lock = threading.Lock()

    def __call__(self) -> str:
        with self.lock:
            if time.monotonic() - self.at > 120:
                self.token, self.at = login(self.server, self.who)["authToken"], time.monotonic()
            return self.token


def operations(server: Server, conn: dict[str, str]) -> list[Callable[[], Any]]:
    """One closure per endpoint family; each raises on an error answer (call() does)."""
    owner, fresh_user_token = Tokens(server, OWNER), Tokens(server, USER)
    counter = itertools.count()

    def refresh() -> None:
        pair = login(server, USER)
        call(
            server,
            "POST",
            "/v1/auth/refresh",
            {"refresh_token": pair["refreshToken"]},
            pair["authToken"],
        )

    def user_lifecycle() -> None:
        n = next(counter)
        created = call(
            server,
            "POST",
            "/v1/users",
            {"username": f"soak{n}", "password": "Soak-Password-1", "role": 1},
            owner(),
        )
        call(server, "PATCH", f"/v1/users/{created['id']}", {"ttl": "90s"}, owner())
        call(server, "DELETE", f"/v1/users/{created['id']}", None, owner())

    def connection_lifecycle() -> None:
        n = next(counter)
        spec = {"driver": "postgresql", "host": "db.invalid", "database": "soak"}
        token = call(
            server,
            "POST",
            "/v1/connection",
            {"name": f"soak{n}", "connectionString": spec},
            owner(),
        )["connToken"]
        call(server, "PATCH", f"/v1/connections/{token}", {"description": "soak"}, owner())
        call(server, "DELETE", f"/v1/connections/{token}", None, owner())

    def execute(driver: str, endpoint: str, **body: Any) -> Callable[[], Any]:
        return lambda: call(
            server,
            "POST",
            f"/v1/{endpoint}/{driver}",
            {"token": conn[driver], **body},
            fresh_user_token(),
        )

    ops: list[Callable[[], Any]] = [
        lambda: call(server, "GET", "/admin/ok"),
        lambda: call(server, "GET", "/admin/ready"),
        lambda: call(server, "GET", "/v1/users", None, owner()),
        lambda: call(server, "GET", "/v1/connections", None, owner()),
        refresh,
        user_lifecycle,
        connection_lifecycle,
    ]
    for driver in conn:
        ops += [
            execute(driver, "select", table="bench", filter=[{"id": 42}]),
            execute(driver, "select", table="bench", sort=["id"], limit=100, page=3),
            execute(
                driver, "insert", table="inserts", fields=["name", "score"], values=[["soak", 1]]
            ),
            execute(
                driver, "update", table="inserts", values={"score": 2}, filter=[{"name": "soak"}]
            ),
            execute(driver, "delete", table="inserts", filter=[{"score": 2}]),
            execute(driver, "query", statement="SELECT COUNT(*) AS n FROM bench"),
        ]
    return ops


def main(argv: list[str] | None = None) -> int:
    options = options_from(argv)
    seconds, rate = options.seconds, options.rate
    warmup = window = min(60.0, seconds / 5)  # the first and last windows compared for RSS
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="dbc-soak-"))
    built = [target_setup.sqlite_target(work)]
    postgres = target_setup.postgres_target()
    if postgres:
        built.append(postgres)
    port = free_port()
    server = Server(
        "service",
        [str(Path(sys.executable).parent / "dbconnector"), "serve"],
        environment(work, port),
        port,
        work / "service.log",
    )
    errors: Counter[str] = Counter()
    done = Counter()
    samples: dict[int, list[tuple[float, int]]] = {}
    try:
        conn = prepare_service(server, built)
        ops = operations(server, conn)
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(min(5.0, window / 2)):
                for pid in server.workers():
                    with contextlib.suppress(OSError):  # a worker that just exited
                        samples.setdefault(pid, []).append((time.monotonic(), rss_kb(pid)))

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        print(
            f"soak: {seconds:.0f} s at {rate:.0f} requests/s over {len(ops)} operations", flush=True
        )
        with ThreadPoolExecutor(16) as pool:
            for n in itertools.count():
                due = started + n / rate
                if due - started >= seconds:
                    break
                time.sleep(max(0.0, due - time.monotonic()))
                op = ops[n % len(ops)]

                def run(op: Callable[[], Any] = op) -> None:
                    try:
                        op()
                        done["ok"] += 1
                    except Exception as exc:
                        errors[f"{type(exc).__name__}: {exc}"[:160]] += 1

                pool.submit(run)
        stop.set()
        sampler.join()
    finally:
        server.stop()
        for target in built:
            target_setup.drop(target)
    verdicts = []
    for pid, points in samples.items():
        first = [kb for t, kb in points if started + warmup <= t < started + warmup + window]
        last = [kb for t, kb in points if t >= started + seconds - window]
        if first and last:
            growth = statistics.mean(last) / statistics.mean(first) - 1
            verdicts.append(growth)
            before, after = statistics.mean(first) / 1024, statistics.mean(last) / 1024
            print(f"worker {pid}: RSS {before:.1f} MB -> {after:.1f} MB ({growth:+.1%})")
    print(f"calls: {done['ok']} ok, {sum(errors.values())} failed")
    for message, count in errors.most_common(10):
        print(f"  {count} x {message}")
    flat = bool(verdicts) and all(abs(g) <= 0.10 for g in verdicts)
    shutil.rmtree(work, ignore_errors=True)
    ok = flat and not errors
    print("PASS" if ok else "FAIL", "(zero errors, every worker's RSS within 10 %)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
