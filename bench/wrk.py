"""Running wrk with bench/lua/scenario.lua and reading its numbers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "lua" / "scenario.lua"
_LINE = re.compile(r"^BENCH_JSON (\{.*\})$", re.MULTILINE)


@dataclass(frozen=True)
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int

    def as_dict(self) -> dict[str, float]:
        return {
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "errors": self.errors,
            "requests": self.requests,
        }


def parse(output: str) -> Run:
    """The numbers from the BENCH_JSON line the script's done() prints."""
    match = _LINE.search(output)
    if match is None:
        raise ValueError(f"no BENCH_JSON line in wrk's output:\n{output[-2000:]}")
    data = json.loads(match.group(1))
    seconds = data["duration_us"] / 1e6
    return Run(
        rps=data["requests"] / seconds if seconds else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["bad_responses"] + data["socket_errors"],
        requests=data["requests"],
    )


def ensure_installed() -> str:
    """wrk's path, installing Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing; installing it with apt-get", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed")
    return found


@dataclass(frozen=True)
class Load:
    """What the script needs besides the mode: tokens, table, row count, the refresh pairs file."""

    auth: str = "-"
    conntoken: str = "-"
    table: str = "-"
    rows: int = 0
    pairs: str = "-"

    def args(self) -> list[str]:
        return [self.auth, self.conntoken, self.table, str(self.rows), self.pairs]


def threads_for(connections: int) -> int:
    """wrk's -t: two threads drive 32 connections without wrk becoming the limit on 2 CPUs."""
    return max(1, min(2, connections))


def run(url: str, mode: str, connections: int, seconds: float, load: Load = Load()) -> Run:
    threads = threads_for(connections)
    command = [
        ensure_installed(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(SCRIPT),
        url,
        "--",
        mode,
        *load.args(),
        str(threads),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-2000:]}")
    return parse(done.stdout)
