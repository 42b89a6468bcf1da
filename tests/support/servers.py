"""Servers a fault test may stop and start: a private PostgreSQL cluster, and DBConnector itself
under gunicorn. The shared local servers are never touched."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# bench/ holds scripts, not a package; its /proc helpers serve these servers too.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from served import Server, free_port

from tests.support.app import OWNER

ROOT = Path(__file__).resolve().parents[2]

# What every served instance of the tests starts with: the demo, OWNER as its owner.
SERVED_SETTINGS = {
    "DBCONNECTOR_DEMO": "1",
    "DBCONNECTOR_OWNER_USERNAME": OWNER[0],
    "DBCONNECTOR_OWNER_PASSWORD": OWNER[1],
    "DBCONNECTOR_BCRYPT_ROUNDS": "4",
    "DBCONNECTOR_LOG_LEVEL": "WARNING",
    # The tests' own SQLite targets live in pytest's temp dirs.
    "DBCONNECTOR_SQLITE_ROOTS": str(Path(tempfile.gettempdir()).resolve()),
}


def postgres_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions or not shutil.which("runuser"):
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) or runuser")
    return versions[-1].parent


class PrivatePostgres:
    """A throwaway cluster on its own port, run as the postgres user, trust auth on loopback."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="dbc-pg-"))
        shutil.chown(self.dir, "postgres")
        self.data = self.dir / "data"
        self.port = free_port()
        self._as_postgres(
            self.bin / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync"
        )
        self.start()

    def _as_postgres(self, *command: Any) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *map(str, command)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        self._as_postgres(
            self.bin / "pg_ctl",
            "-D",
            self.data,
            "-l",
            self.dir / "log",
            "-w",
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` is a crash as the clients see it: connections cut, no goodbye."""
        self._as_postgres(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "dbconnector"), *args]


def served_env(data_dir: Path, unset: tuple[str, ...] = (), **settings: str) -> dict[str, str]:
    """The environment of a served instance on `data_dir`, and of its job workers."""
    env = dict(os.environ)
    env.update(
        # Targets are made in data_dir too: the service's own files go one level down.
        DBCONNECTOR_DATA_DIR=str(data_dir / "data"),
        DBCONNECTOR_SQLITE_ROOTS=str(data_dir),
        DBCONNECTOR_SECRET_KEY="fault-tests-secret-key-0123456789",
        DBCONNECTOR_RATELIMIT="1000000/minute",
        DBCONNECTOR_AUTH_RATELIMIT="1000000/minute",
        DBCONNECTOR_WORKERS="2",
        DBCONNECTOR_THREADS="4",
    )
    env.update(settings)
    for name in unset:  # e.g. no DBCONNECTOR_SECRET_KEY: the service makes its own key file
        env.pop(name, None)
    return env


class JobWorker:
    """One `dbconnector worker` process (RQ on Redis) with a served instance's settings."""

    def __init__(self, data_dir: Path, number: int, **settings: str) -> None:
        self.log_path = data_dir / f"worker{number}.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command("worker"),
            cwd=ROOT,
            env=served_env(data_dir, **settings),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.pid = self.process.pid

    def kill(self) -> None:
        """SIGKILL: the process dies mid-job, as on a crash."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM (RQ's warm shutdown), SIGKILL after 20 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


class Service(Server):
    """`dbconnector serve` (gunicorn, the project's config) on a free port, output to a file;
    started and polled until it answers by bench/served.Server, the one helper that does."""

    def __init__(self, data_dir: Path, unset: tuple[str, ...] = (), **settings: str) -> None:
        self.log_path = data_dir / "service.log"
        port = free_port()
        env = served_env(data_dir, unset, HOST="127.0.0.1", PORT=str(port), **settings)
        super().__init__("service", command("serve"), env, port, self.log_path)

    def call(
        self, method: str, path: str, body: Any = None, token: str = "", timeout: float = 30
    ) -> tuple[int, Any]:
        status, _, answer = self.request(method, path, body, token, timeout)
        return status, answer

    def request(
        self, method: str, path: str, body: Any = None, token: str = "", timeout: float = 30
    ) -> tuple[int, Any, Any]:
        """(status, headers, JSON body) of one call over a connection of its own."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, response.headers, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, error.headers, json.loads(raw)
            except ValueError:
                return error.code, error.headers, raw.decode(errors="replace")

    def login(self, username: str, password: str) -> str:
        status, body = self.call("POST", "/v1/auth", {"username": username, "password": password})
        assert status == 200, body
        return body["authToken"]

    @contextlib.contextmanager
    def only(self, pid: int) -> Iterator[None]:
        """Calls made inside reach worker `pid`: the others are stopped (SIGSTOP) meanwhile, so
        they cannot accept a connection, and continue afterwards. Call it between requests: a
        worker stopped while it holds a lock would hold it until then."""
        others = [worker for worker in self.workers() if worker != pid]
        for worker in others:
            os.kill(worker, signal.SIGSTOP)
        try:
            yield
        finally:
            for worker in others:
                os.kill(worker, signal.SIGCONT)

    def worker_serving(self, timeout: float = 10) -> int:
        """A worker holding a client's connection right now: a request in flight (each call
        opens its own connection and closes it when answered). CPU over a past interval cannot
        say that: gunicorn may have handed every open connection to the other worker since."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            accepted = _accepted_sockets(self.port)
            for pid in self.workers():
                if accepted & _socket_inodes(pid):
                    return pid
            time.sleep(0.01)
        raise AssertionError(f"no worker held a client connection within {timeout} s")

    def stop(self, graceful: bool = False) -> None:
        """SIGKILL by default; graceful: SIGTERM, so workers finish and flush their logs."""
        if graceful:
            super().stop()
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.log.close()


def _accepted_sockets(port: int) -> set[str]:
    """Inodes of established TCP sockets whose local end is `port`: the server's side of each
    client connection (the listening socket is in state 0A, not 01)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    return inodes
