"""A gunicorn-served app on loopback, for the benchmark and `make fuzz`."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class Server:
    """A gunicorn process group on loopback, stopped (with its workers) by stop()."""

    def __init__(
        self,
        name: str,
        command: list[str],
        env: dict[str, str],
        port: int,
        log: Path,
        cwd: Path = ROOT,
    ):
        self.name, self.port = name, port
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited at start: {log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(
                    self.url("/admin/ok" if name == "service" else "/ok"), timeout=1
                ):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{name} did not start in 60 s; see {log}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def workers(self) -> list[int]:
        """The gunicorn master's children (its workers)."""
        return children(self.process.pid)

    def stop(self) -> None:
        """SIGTERM to the whole group (master and workers), SIGKILL after 30 s; never raises, so
        the rest of the cleanup (the other server, the scratch databases) always runs."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.log.close()


def _stat(pid: int | str) -> list[str]:
    """/proc/<pid>/stat's fields after the command name (so field 1 is the parent's pid)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a gunicorn master's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(entry.name)[1]) == pid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def cpu_ticks(pid: int) -> int:
    """A process's user + system CPU time so far, in clock ticks (0 once it is gone)."""
    try:
        fields = _stat(pid)
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_environment(work: Path, port: int, owner: tuple[str, str]) -> dict[str, str]:
    """The environment of a served DBConnector: loopback, a fresh data dir and secret under
    `work`, `owner` as its OWNER, and flood limits raised (these tools measure or attack
    serving, not refusing)."""
    env = dict(os.environ)
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        DBCONNECTOR_DATA_DIR=str(work / "data"),
        DBCONNECTOR_SQLITE_ROOTS=str(work),  # the tools' SQLite targets sit beside the data dir
        DBCONNECTOR_SECRET_KEY=secrets.token_urlsafe(32),
        DBCONNECTOR_DEMO="0",
        DBCONNECTOR_OWNER_USERNAME=owner[0],
        DBCONNECTOR_OWNER_PASSWORD=owner[1],
        DBCONNECTOR_RATELIMIT="100000000/second",
        DBCONNECTOR_AUTH_RATELIMIT="100000000/second",
    )
    env.setdefault("DBCONNECTOR_LOG_LEVEL", "WARNING")
    return env


def serve_service(work: Path, owner: tuple[str, str], **settings: str) -> Server:
    """`dbconnector serve` on a free loopback port (settings: extra DBCONNECTOR_* variables)."""
    port = free_port()
    env = {**service_environment(work, port, owner), **settings}
    command = [str(Path(sys.executable).parent / "dbconnector"), "serve"]
    return Server("service", command, env, port, work / "service.log")


def fetch_json(server: Server, method: str, path: str, body: Any = None, token: str = "") -> Any:
    """One call, its JSON answer (None for an empty body); an HTTP error raises."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url(path), data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read() or b"null")


def post_json(server: Server, path: str, body: Any, token: str = "") -> Any:
    """POST a JSON body, return the JSON answer (an HTTP error raises)."""
    return fetch_json(server, "POST", path, body, token)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class PeakRss:
    """While entered, every process's RSS sampled every 20 ms; growth_mb is then the largest rise
    of any one of them above what it held on entry."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.before = {pid: rss_kb(pid) for pid in pids}
        self.peak = dict(self.before)
        self._sampling = threading.Event()
        self._thread = threading.Thread(target=self._sample)

    def _sample(self) -> None:
        while self._sampling.is_set():
            for pid in self.pids:
                with contextlib.suppress(OSError):
                    self.peak[pid] = max(self.peak[pid], rss_kb(pid))
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._sampling.set()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._sampling.clear()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return max((self.peak[pid] - self.before[pid] for pid in self.pids), default=0) / 1024
