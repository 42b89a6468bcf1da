"""DBConnector's benchmark (`make bench`): the service as production runs it (gunicorn with the
project's gunicorn.conf.py) against its own SQLite, PostgreSQL and MariaDB targets, driven by wrk,
with two references measured in the same run: `bare_flask` (bare_app.py, the framework's ceiling)
and `driver_loop` (the same SQL through the same driver in a Python loop, the physical limit).
A benchmark, never a test: it prints a table and writes bench/results.json.

    .venv/bin/python bench/run.py [--quick] [--backend sqlite] [--scenario select_pk] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import job_bench
import targets as target_setup
import transfers as transfer_setup
import wrk
from served import PeakRss, Server, cpu_ticks, fetch_json, free_port, service_environment
from targets import ROWS, Target

ROOT = Path(__file__).resolve().parent.parent
SELECTS = ("select_pk", "select_page")
SCENARIOS = (
    "select_pk",
    "select_page",
    "insert_one",
    "refresh",
    "heartbeat",
    "stream_1m",
    *job_bench.SCENARIOS,
    *transfer_setup.TRANSFERS,
)
OWNER = ("bench_owner", secrets.token_urlsafe(12))
USER = ("bench_user", secrets.token_urlsafe(12))


# --- the service's API --------------------------------------------------------------------------


def call(server: Server, method: str, path: str, body: Any = None, token: str = "") -> Any:
    answer = fetch_json(server, method, path, body, token)
    if isinstance(answer, dict) and "error" in answer:
        raise RuntimeError(f"{method} {path}: {answer['error']}")
    return answer


def login(server: Server, who: tuple[str, str]) -> dict[str, Any]:
    return call(server, "POST", "/v1/auth", {"username": who[0], "password": who[1]})


def prepare_service(
    server: Server, targets: list[Target], extra: dict[str, Target] | None = None
) -> dict[str, str]:
    """A FULL user with ttl 10m, granted a connection per target; returns driver -> connToken
    (and key -> connToken for the `extra` targets)."""
    owner = login(server, OWNER)["authToken"]
    user_id = call(
        server,
        "POST",
        "/v1/users",
        {"username": USER[0], "password": USER[1], "role": 4, "ttl": "10m"},
        owner,
    )["id"]
    tokens = {}
    named = [(target.name, target) for target in targets] + list((extra or {}).items())
    for key, target in named:
        conn_token = call(
            server,
            "POST",
            "/v1/connection",
            {"name": f"bench-{key}", "connectionString": target.spec},
            owner,
        )["connToken"]
        call(server, "POST", f"/v1/connection/{conn_token}/user/{user_id}", {}, owner)
        tokens[key] = conn_token
    return tokens


# --- measuring ----------------------------------------------------------------------------------


UNBALANCED_RETRIES = 4
# refresh against bare_flask's /refresh (the same durable one-time work with nothing around it),
# per concurrency: the targets since refresh against an empty GET was withdrawn.
REFRESH_VS_BARE = {"1": 0.8, "32": 0.65}
LOG_LEVEL = os.environ.get("DBCONNECTOR_LOG_LEVEL", "INFO")


def is_balanced(used: list[int]) -> bool:
    """Every worker did at least 30% of the busiest one's work (one idle worker means the
    kernel gave all the connections to the other)."""
    return not used or min(used) >= 0.3 * max(used)


def ratio(service: float, reference: float) -> float | None:
    """service / reference; None when the reference served nothing (the run still reports)."""
    return round(service / reference, 3) if reference else None


def median_run(measure: Callable[[], dict[str, Any]], runs: int) -> dict[str, Any]:
    """The median of `runs` runs by requests/s, with every run's numbers kept."""
    return median_of([measure() for _ in range(runs)])


def median_of(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median requests/s, with the errors of all and every run's requests/s."""
    middle = sorted(results, key=lambda r: r["rps"])[len(results) // 2]
    return {
        **middle,
        "errors": sum(r["errors"] for r in results),
        "runs": [r["rps"] for r in results],
    }


def refresh_pairs(mint: Callable[[], dict[str, Any]], count: int, path: Path) -> None:
    """`count` fresh (authToken, refreshToken) pairs from `mint` (a login), made in parallel."""
    pairs: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        answer = mint()
        with lock:
            pairs.append(f"{answer['authToken']} {answer['refreshToken']}")

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    path.write_text("\n".join(pairs) + "\n")


def against_heartbeat(service: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    return {
        "service": service,
        "bare_flask_heartbeat": reference,
        "service_vs_bare_flask_heartbeat": ratio(service["rps"], reference["rps"]),
    }


class Measurement:
    """wrk driving one path of one server: a warm-up, then balanced runs."""

    def __init__(
        self,
        options: argparse.Namespace,
        server: Server,
        path: str,
        mode: str,
        concurrency: int,
        load: wrk.Load,
        fresh: Callable[[], wrk.Load] | None,
    ) -> None:
        self.options, self.server, self.path, self.mode = options, server, path, mode
        self.concurrency, self.load, self.fresh = concurrency, load, fresh
        self.rejected = 0  # unbalanced runs repeated

    def once(self, seconds: float) -> dict[str, Any]:
        load = self.fresh() if self.fresh else self.load
        return wrk.run(
            self.server.url(self.path), self.mode, self.concurrency, seconds, load
        ).as_dict()

    def warm_up(self) -> None:
        if self.options.warmup:
            self.once(self.options.warmup)

    def balanced_run(self) -> dict[str, Any]:
        # gthread workers sometimes accept every one of wrk's connections in one worker, which
        # then serves alone (README: "What the numbers say"). Such a run measures the kernel's
        # accept race, not the app, so it is repeated (the service and bare_flask alike); the
        # count is recorded.
        workers = self.server.workers()
        for _ in range(UNBALANCED_RETRIES):
            before = [cpu_ticks(pid) for pid in workers]
            result = self.once(self.options.duration)
            used = [cpu_ticks(pid) - start for pid, start in zip(workers, before, strict=True)]
            if self.concurrency < 2 * len(workers) or is_balanced(used):
                return result
            self.rejected += 1
        return result


class Bench:
    def __init__(
        self,
        options: argparse.Namespace,
        service: Server,
        bare: Server,
        conn_tokens: dict[str, str],
        work: Path,
    ) -> None:
        self.options, self.service, self.bare = options, service, bare
        self.conn_tokens, self.work = conn_tokens, work

    def measurement(
        self,
        server: Server,
        path: str,
        mode: str,
        concurrency: int,
        load: wrk.Load,
        fresh: Callable[[], wrk.Load] | None = None,
    ) -> Measurement:
        """One wrk load on `server`, to be run (warm-up, then --runs runs) by side_by_side."""
        return Measurement(self.options, server, path, mode, concurrency, load, fresh)

    def side_by_side(self, *measurements: Measurement) -> list[dict[str, Any]]:
        """Each measurement's median of --runs runs, taken in turns (A, B, A, B, ...) after every
        warm-up: the machine drifts by several per cent over minutes, and a ratio of runs taken
        minutes apart measured that drift as much as the service."""
        for measurement in measurements:
            measurement.warm_up()
        results: list[list[dict[str, Any]]] = [[] for _ in measurements]
        for _ in range(self.options.runs):
            for measurement, runs in zip(measurements, results, strict=True):
                runs.append(measurement.balanced_run())
        return [
            {**median_of(runs), "unbalanced_runs_repeated": measurement.rejected}
            for measurement, runs in zip(measurements, results, strict=True)
        ]

    def user_load(self, target: Target, table: str = "bench") -> Callable[[], wrk.Load]:
        # A fresh token per wrk run, so none expires mid-run.
        def fresh() -> wrk.Load:
            token = login(self.service, USER)["authToken"]
            return wrk.Load(token, self.conn_tokens[target.name], table, ROWS)

        return fresh

    def select(self, target: Target, scenario: str, concurrency: int) -> dict[str, Any]:
        fresh = self.user_load(target)
        service, bare = self.side_by_side(
            self.measurement(
                self.service, f"/v1/select/{target.name}", scenario, concurrency, wrk.Load(), fresh
            ),
            self.measurement(self.bare, f"/select/{target.name}", scenario, concurrency, fresh()),
        )
        loop = median_run(
            lambda: target_setup.driver_loop(target, scenario, concurrency, self.options.duration),
            self.options.runs,
        )
        return {
            "service": service,
            "bare_flask": bare,
            "driver_loop": loop,
            "service_vs_bare_flask": ratio(service["rps"], bare["rps"]),
            "service_vs_driver_loop": ratio(service["rps"], loop["rps"]),
        }

    def insert(self, target: Target, concurrency: int) -> dict[str, Any]:
        fresh = self.user_load(target, "inserts")
        path = f"/v1/insert/{target.name}"
        [service] = self.side_by_side(
            self.measurement(self.service, path, "insert_one", concurrency, wrk.Load(), fresh)
        )
        return {"service": service}

    def refresh(self, concurrency: int) -> dict[str, Any]:
        """Against bare /ok, the issue's reference, and beside bare_flask's /refresh, the same
        token and database work with nothing around it: all three in turns."""

        def pairs_from(server: Server, mint: Callable[[], dict[str, Any]]) -> wrk.Load:
            # One pair per connection plus two per wrk thread: wrk calls the first thread's
            # request() once before the run to check the script (that pair is never sent), and a
            # connection wrk reopens loses the pair it had in flight. Logins cost a bcrypt each,
            # so no more than that.
            pairs = self.work / f"pairs-{server.name}.txt"
            refresh_pairs(mint, concurrency + 2 * wrk.threads_for(concurrency), pairs)
            return wrk.Load(pairs=str(pairs))

        service = self.measurement(
            self.service,
            "/v1/auth/refresh",
            "refresh",
            concurrency,
            wrk.Load(),
            lambda: pairs_from(self.service, lambda: login(self.service, USER)),
        )
        bare = self.measurement(
            self.bare,
            "/refresh",
            "refresh",
            concurrency,
            wrk.Load(),
            lambda: pairs_from(self.bare, lambda: call(self.bare, "POST", "/pair", {})),
        )
        outcome, reference, work = self.side_by_side(service, self.bare_ok(concurrency), bare)
        return {
            **against_heartbeat(outcome, reference),
            "bare_flask_refresh": work,
            "service_vs_bare_flask_refresh": ratio(outcome["rps"], work["rps"]),
        }

    def heartbeat(self, concurrency: int) -> dict[str, Any]:
        service = self.measurement(self.service, "/admin/ok", "get", concurrency, wrk.Load())
        return against_heartbeat(*self.side_by_side(service, self.bare_ok(concurrency)))

    def bare_ok(self, concurrency: int) -> Measurement:
        """bare_flask's empty GET: the reference of the scenarios without SQL."""
        return self.measurement(self.bare, "/ok", "get", concurrency, wrk.Load())

    def stream(self, target: Target) -> dict[str, Any]:
        """stream_1m: the service's rows/s and worker RSS growth (the median of --runs runs), beside
        bare_flask streaming the same table and driver_loop reading it through psycopg."""
        body = {"token": self.conn_tokens[target.name], "table": "million"}
        path = f"/v1/select/{target.name}"
        service, bare, loop = [], [], []
        for _ in range(self.options.runs):
            token = login(self.service, USER)["authToken"]
            service.append(stream_once(self.service, path, body, token))
            bare.append(stream_once(self.bare, f"/stream/{target.name}", {}, ""))
            rows, seconds = target_setup.stream_loop(target)
            loop.append(
                {
                    "rows": rows,
                    "seconds": round(seconds, 2),
                    "rows_per_s": round(rows / seconds),
                    "errors": 0 if rows == target_setup.STREAM_ROWS else 1,
                }
            )
        outcome = median_stream(service)
        outcome["bare_flask"] = median_stream(bare)
        outcome["driver_loop"] = median_stream(loop)
        outcome["service_vs_bare_flask"] = ratio(
            outcome["rows_per_s"], outcome["bare_flask"]["rows_per_s"]
        )
        outcome["service_vs_driver_loop"] = ratio(
            outcome["rows_per_s"], outcome["driver_loop"]["rows_per_s"]
        )
        return outcome

    # --- the job scenarios (job_bench.py), each beside the synchronous call doing the same work

    def job_spool(self, target: Target) -> dict[str, Any]:
        """job_spool_1m: the million-row select as a job (submit to succeeded) and stream_1m's
        synchronous select of it, in turns, --runs times each; the medians and their ratio."""
        body = {"token": self.conn_tokens[target.name], "table": "million"}
        jobs, streams = [], []
        for _ in range(self.options.runs):
            token = login(self.service, USER)["authToken"]
            jobs.append(job_bench.spool_once(self.service, target, body["token"], token))
            streams.append(stream_once(self.service, f"/v1/select/{target.name}", body, token))
        outcome = median_stream(jobs)
        outcome["stream_1m"] = median_stream(streams)
        outcome["job_vs_stream_1m"] = ratio(
            outcome["rows_per_s"], outcome["stream_1m"]["rows_per_s"]
        )
        return outcome

    def beside(
        self,
        server: Server,
        concurrency: int,
        job: tuple[str, str, Callable[[], wrk.Load]],
        reference: tuple[str, str, Callable[[], wrk.Load]],
        key: str,
    ) -> dict[str, Any]:
        """A job call and the synchronous call doing the same work, each (path, lua mode,
        fresh load), in turns on `server`: both results and their ratio as `key`."""
        job_run, reference_run = self.side_by_side(
            *(
                self.measurement(server, path, mode, concurrency, wrk.Load(), fresh)
                for path, mode, fresh in (job, reference)
            )
        )
        return {
            "service": job_run,
            "reference": reference_run,
            key: ratio(job_run["rps"], reference_run["rps"]),
        }

    def job_page(self, target: Target) -> dict[str, Any]:
        """job_page: 1,000-row pages of a finished 100,000-row job, and the synchronous /select
        of the same pages, in turns at 8 connections."""
        fresh = self.user_load(target)
        job_id = job_bench.finished_page_job(
            self.service, target, self.conn_tokens[target.name], fresh().auth
        )
        concurrency = job_bench.PAGE_CONNECTIONS
        measured = self.beside(
            self.service,
            concurrency,
            (f"/v1/jobs/{job_id}/results/0", "job_page", fresh),
            (f"/v1/select/{target.name}", "select_1000", fresh),
            "job_vs_select_1000",
        )
        return {str(concurrency): measured}

    def job_submit_rq(self, target: Target) -> dict[str, Any]:
        """job_submit on the scale-out engine: an instance of its own with
        DBCONNECTOR_JOB_BROKER_URL, which only enqueues, as API instances do when the jobs run
        on `dbconnector worker` processes elsewhere; none runs during the submits. Before each
        synchronous select_pk run (on the same instance) a burst worker runs what was queued."""
        if not job_bench.broker_answers():
            return {}
        work = self.work / "api-only"
        work.mkdir()
        port = free_port()
        env = {
            **environment(work, port),
            "DBCONNECTOR_JOB_BROKER_URL": job_bench.BROKER_URL,
            "DBCONNECTOR_JOB_QUEUE": f"bench-{secrets.token_hex(4)}",
        }
        command = [str(Path(sys.executable).parent / "dbconnector"), "serve"]
        api = Server("service", command, env, port, self.work / "api-only.log")
        drains: list[float] = []
        try:
            conn_token = prepare_service(api, [target])[target.name]

            def fresh() -> wrk.Load:
                return wrk.Load(login(api, USER)["authToken"], conn_token, "bench", ROWS)

            def drained() -> wrk.Load:
                drains.append(job_bench.burst(env))
                return fresh()

            measured = self.submits_beside(api, target, fresh, drained)
            drains.append(job_bench.burst(env))
        finally:
            api.stop()
        return {str(job_bench.SUBMIT_CONNECTIONS): {**measured, "drain_seconds": drains}}

    def job_cancel(self, target: Target) -> dict[str, Any]:
        """job_cancel on one target: the cancel call to the statement gone, per sample."""
        token = login(self.service, USER)["authToken"]
        return job_bench.cancels(
            self.service, target, self.conn_tokens[target.name], token, self.options.cancel_samples
        )

    def job_submit(self, target: Target) -> dict[str, Any]:
        """job_submit: POST /v1/jobs/select of select_pk's body at 32 connections, in turns with
        the synchronous select_pk; before each synchronous run (and its warm-up) the jobs
        submitted so far are left to finish, so it does not share the CPU with them."""
        fresh = self.user_load(target)
        drains: list[float] = []

        def drained() -> wrk.Load:
            load = fresh()
            drains.append(job_bench.queue_drained(self.service, load.auth))
            return load

        measured = self.submits_beside(self.service, target, fresh, drained)
        drains.append(job_bench.queue_drained(self.service, fresh().auth))
        return {str(job_bench.SUBMIT_CONNECTIONS): {**measured, "drain_seconds": drains}}

    def submits_beside(
        self,
        server: Server,
        target: Target,
        fresh: Callable[[], wrk.Load],
        drained: Callable[[], wrk.Load],
    ) -> dict[str, Any]:
        """select_pk's body as job submits, beside the synchronous select_pk (each of whose
        loads is `drained`: made once the submitted jobs have run)."""
        return self.beside(
            server,
            job_bench.SUBMIT_CONNECTIONS,
            (f"/v1/jobs/select/{target.name}", "select_pk", fresh),
            (f"/v1/select/{target.name}", "select_pk", drained),
            "job_vs_select_pk",
        )


def median_stream(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rows/s; the largest RSS growth and every run's errors count."""
    middle = dict(sorted(samples, key=lambda s: s["rows_per_s"])[len(samples) // 2])
    middle["errors"] = sum(s["errors"] for s in samples)
    if "rss_growth_mb" in middle:
        middle["rss_growth_mb"] = max(s["rss_growth_mb"] for s in samples)
    middle["runs"] = [s["rows_per_s"] for s in samples]
    return middle


def stream_once(server: Server, path: str, body: Any, token: str) -> dict[str, Any]:
    """One select of the 1,000,000-row table, read as it streams, while every worker's RSS is
    sampled every 20 ms: rows/s and the largest growth of any one worker."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        server.url(path), data=json.dumps(body).encode(), method="POST", headers=headers
    )
    size = 0
    tail = b""
    with PeakRss(server.workers()) as rss:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                while chunk := response.read(1 << 20):
                    size += len(chunk)
                    tail = (tail + chunk)[-64:]
        finally:
            seconds = time.perf_counter() - started
    ok = tail.rstrip().endswith(b"}]")
    return {
        "rows": target_setup.STREAM_ROWS,
        "seconds": round(seconds, 2),
        "rows_per_s": round(target_setup.STREAM_ROWS / seconds),
        "mb": round(size / 1e6, 1),
        "rss_growth_mb": round(rss.growth_mb, 1),
        "errors": 0 if ok else 1,
    }


# --- the run ------------------------------------------------------------------------------------


def build_targets(options: argparse.Namespace, work: Path) -> list[Target]:
    makers = {
        "sqlite": lambda: target_setup.sqlite_target(work),
        "postgresql": target_setup.postgres_target,
        "mysql": target_setup.mysql_target,
    }
    built = []
    for name in options.backend:
        print(f"creating the {name} target ({ROWS:,} rows)...", flush=True)
        target = makers[name]()
        if target is not None:
            built.append(target)
    return built


def environment(work: Path, port: int) -> dict[str, str]:
    # Production's logging: a JSON request line per call (and an audit line per statement), here
    # into the server's log file. DBCONNECTOR_LOG_LEVEL in the caller's environment overrides it.
    return {
        **service_environment(work, port, OWNER),
        **job_bench.JOB_SETTINGS,
        "DBCONNECTOR_LOG_LEVEL": LOG_LEVEL,
    }


def measure_all(
    bench: Bench,
    targets: list[Target],
    options: argparse.Namespace,
    landing: Target | None = None,
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for target in targets:
        for scenario in ("select_pk", "select_page", "insert_one"):
            if scenario not in options.scenario:
                continue
            for concurrency in options.concurrency:
                print(f"{target.name:10} {scenario:12} c={concurrency}", flush=True)
                outcome = (
                    bench.select(target, scenario, concurrency)
                    if scenario in SELECTS
                    else bench.insert(target, concurrency)
                )
                results.setdefault(target.name, {}).setdefault(scenario, {})[str(concurrency)] = (
                    outcome
                )
    for scenario in ("refresh", "heartbeat"):
        if scenario not in options.scenario:
            continue
        for concurrency in options.concurrency:
            print(f"{'-':10} {scenario:12} c={concurrency}", flush=True)
            outcome = (
                bench.refresh(concurrency)
                if scenario == "refresh"
                else bench.heartbeat(concurrency)
            )
            results.setdefault("any", {}).setdefault(scenario, {})[str(concurrency)] = outcome
    postgres = next((t for t in targets if t.name == "postgresql"), None)
    if "stream_1m" in options.scenario and postgres is not None:
        print(f"{'postgresql':10} stream_1m", flush=True)
        results.setdefault("postgresql", {})["stream_1m"] = bench.stream(postgres)
    # The cancels run on every target, the others on PostgreSQL's (the million-row table's);
    # job_submit last, as it leaves the most jobs behind.
    for scenario, method, on in (
        ("job_spool_1m", bench.job_spool, [postgres]),
        ("job_page", bench.job_page, [postgres]),
        ("job_cancel", bench.job_cancel, targets),
        ("job_submit", bench.job_submit, [postgres]),
        ("job_submit_rq", bench.job_submit_rq, [postgres]),
    ):
        for target in on:
            if scenario in options.scenario and target is not None:
                print(f"{target.name:10} {scenario}", flush=True)
                if outcome := method(target):
                    results.setdefault(target.name, {})[scenario] = outcome
    by_name: dict[str, Target] = {target.name: target for target in targets}
    if landing is not None:
        by_name["landing"] = landing
    for scenario, (source, _, target, _) in transfer_setup.TRANSFERS.items():
        landing = "landing" if scenario == "transfer_1m_pg_pg" else target
        if scenario not in options.scenario or not {source, landing} <= set(by_name):
            continue
        print(f"{'transfer':10} {scenario}", flush=True)
        results.setdefault("transfer", {})[scenario] = transfer_setup.measure(
            scenario,
            bench.service,
            lambda: login(bench.service, USER)["authToken"],
            (bench.conn_tokens[source], bench.conn_tokens[landing]),
            by_name[source],
            by_name[landing],
            options.runs,
            median_stream,
        )
    return results


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with whether this run met it."""
    checks = []

    def check(what: str, ok: bool, value: Any) -> None:
        checks.append({"target": what, "met": bool(ok), "value": value})

    for backend, scenarios in results.items():
        for scenario, by_concurrency in scenarios.items():
            if scenario in job_bench.SCENARIOS:
                for what, ok, value in job_bench.checks(backend, scenario, by_concurrency):
                    check(what, ok, value)
                continue
            if scenario.startswith("transfer_"):
                check(
                    f"{scenario} zero errors",
                    by_concurrency["errors"] == 0,
                    by_concurrency["errors"],
                )
                if scenario == "transfer_1m_pg_pg":
                    check(
                        f"{scenario} >= 0.3 x COPY pipe",
                        by_concurrency["service_vs_reference"] >= 0.3,
                        by_concurrency["service_vs_reference"],
                    )
                    check(
                        f"{scenario} worker RSS growth < 50 MB",
                        by_concurrency["rss_growth_mb"] < 50,
                        by_concurrency["rss_growth_mb"],
                    )
                continue
            if scenario == "stream_1m":
                check(
                    f"{backend} stream_1m >= 150k rows/s",
                    by_concurrency["rows_per_s"] >= 150_000,
                    by_concurrency["rows_per_s"],
                )
                check(
                    f"{backend} stream_1m RSS growth < 50 MB",
                    by_concurrency["rss_growth_mb"] < 50,
                    by_concurrency["rss_growth_mb"],
                )
                continue
            for concurrency, outcome in by_concurrency.items():
                service = outcome["service"]
                check(
                    f"{backend} {scenario} c={concurrency} zero errors",
                    service["errors"] == 0,
                    service["errors"],
                )
                if scenario == "refresh":
                    # A reference answering errors is fast and wrong: its ratio means nothing.
                    reference_errors = outcome["bare_flask_refresh"]["errors"]
                    check(
                        f"refresh c={concurrency} bare_flask /refresh zero errors",
                        reference_errors == 0,
                        reference_errors,
                    )
                    floor = REFRESH_VS_BARE[concurrency]
                    check(
                        f"refresh c={concurrency} >= {floor} x bare_flask /refresh",
                        (outcome["service_vs_bare_flask_refresh"] or 0) >= floor,
                        outcome["service_vs_bare_flask_refresh"],
                    )
                if concurrency != "32":
                    continue
                check(
                    f"{backend} {scenario} c=32 p99 <= 5 x p50",
                    service["p99_ms"] <= 5 * service["p50_ms"],
                    f"{service['p99_ms']} / {service['p50_ms']} ms",
                )
                if scenario in SELECTS:
                    check(
                        f"{backend} {scenario} c=32 >= 0.6 x bare_flask",
                        (outcome["service_vs_bare_flask"] or 0) >= 0.6,
                        outcome["service_vs_bare_flask"],
                    )
                if scenario == "select_pk":
                    check(
                        f"{backend} select_pk c=32 >= 1500 req/s",
                        service["rps"] >= 1500,
                        service["rps"],
                    )
                if scenario == "heartbeat":
                    check(
                        "heartbeat c=32 >= 0.8 x bare_flask heartbeat",
                        (outcome["service_vs_bare_flask_heartbeat"] or 0) >= 0.8,
                        outcome["service_vs_bare_flask_heartbeat"],
                    )
    return checks


def table(results: dict[str, Any], checks: list[dict[str, Any]]) -> str:
    lines = [
        f"{'backend':10} {'scenario':12} {'c':>3} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'err':>4}"
        f" {'bare req/s':>10} {'vs bare':>7} {'loop req/s':>10} {'vs loop':>7}"
    ]
    for backend, scenarios in results.items():
        for scenario, by_concurrency in scenarios.items():
            if scenario in job_bench.SCENARIOS:
                lines += job_bench.lines(backend, scenario, by_concurrency)
                continue
            if scenario.startswith("transfer_"):
                s = by_concurrency
                ref = s["reference"]
                lines.append(
                    f"{scenario:23} {s['rows_per_s']:>9,} rows/s in {s['seconds']} s, "
                    f"worker RSS +{s['rss_growth_mb']} MB, errors {s['errors']}; "
                    f"{s['reference_kind']} {ref['rows_per_s']:,} rows/s "
                    f"(service / reference = {s['service_vs_reference']})"
                )
                continue
            if scenario == "stream_1m":
                s = by_concurrency
                lines.append(
                    f"{backend:10} {scenario:12} {'1':>3} {s['rows_per_s']:>8,} rows/s, "
                    f"{s['mb']} MB in "
                    f"{s['seconds']} s, worker RSS +{s['rss_growth_mb']} MB, errors {s['errors']}"
                )
                for ref in ("bare_flask", "driver_loop"):
                    if ref in s:
                        lines.append(
                            f"{'':10} {'':12} {'':>3} {s[ref]['rows_per_s']:>8,} rows/s {ref}"
                            f" (service / {ref} = {s.get(f'service_vs_{ref}')})"
                        )
                continue
            for concurrency, o in by_concurrency.items():
                s = o["service"]
                bare = o.get("bare_flask") or o.get("bare_flask_heartbeat")
                ratio = o.get("service_vs_bare_flask") or o.get("service_vs_bare_flask_heartbeat")
                loop = o.get("driver_loop")
                lines.append(
                    f"{backend:10} {scenario:12} {concurrency:>3} {s['rps']:>8.0f}"
                    f" {s['p50_ms']:>8.2f} {s['p99_ms']:>8.2f}"
                    f" {s['errors']:>4} {bare['rps'] if bare else '':>10} {ratio or '':>7}"
                    f" {loop['rps'] if loop else '':>10} {o.get('service_vs_driver_loop', ''):>7}"
                )
                if "bare_flask_refresh" in o:
                    lines.append(
                        f"{'':10} {'':12} {'':>3} {o['bare_flask_refresh']['rps']:>8.0f} req/s"
                        " bare_flask /refresh (the same token and database work, nothing"
                        f" around it; service / it = {o['service_vs_bare_flask_refresh']})"
                    )
    met = sum(c["met"] for c in checks)
    lines.append(f"\ntargets met: {met} of {len(checks)}")
    lines += [f"  {'ok ' if c['met'] else 'NOT'} {c['target']}: {c['value']}" for c in checks]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "workers": os.environ.get("DBCONNECTOR_WORKERS", "default"),
        "threads": os.environ.get("DBCONNECTOR_THREADS", "default"),
    }


def options_from(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 s runs, one each, 1 s warm-up")
    parser.add_argument("--duration", type=float, help="seconds per run (10; --quick 3)")
    parser.add_argument(
        "--runs", type=int, help="runs per measurement; the median is kept (3; --quick 1)"
    )
    parser.add_argument(
        "--warmup", type=float, help="warm-up seconds before each measurement (2; --quick 1)"
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument(
        "--backend",
        nargs="+",
        default=["sqlite", "postgresql", "mysql"],
        choices=["sqlite", "postgresql", "mysql"],
    )
    parser.add_argument("--scenario", nargs="+", default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument(
        "--cancel-samples",
        type=int,
        help=f"job_cancel's cancels per database ({job_bench.CANCEL_SAMPLES}; --quick 5)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json")
    options = parser.parse_args(argv)
    # --quick changes the defaults only: `--quick --runs 3` is three 3 s runs.
    defaults = (
        {"duration": 3.0, "runs": 1, "warmup": 1.0, "cancel_samples": 5}
        if options.quick
        else {
            "duration": 10.0,
            "runs": 3,
            "warmup": 2.0,
            "cancel_samples": job_bench.CANCEL_SAMPLES,
        }
    )
    for name, value in defaults.items():
        if getattr(options, name) is None:
            setattr(options, name, value)
    return options


def main(argv: list[str] | None = None) -> int:
    options = options_from(argv)
    # A SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so servers and scratch databases go.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    # Started in the background (`make bench &`), a shell leaves SIGINT ignored; restore Ctrl-C.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    wrk.ensure_installed()
    work = Path(tempfile.mkdtemp(prefix="dbc-bench-"))
    built: list[Target] = []
    landing: Target | None = None  # transfer_1m_pg_pg's second PostgreSQL database
    servers: list[Server] = []
    try:
        built = build_targets(options, work)
        if "transfer_1m_pg_pg" in options.scenario and "postgresql" in options.backend:
            landing = transfer_setup.second_postgres()
        service_port, bare_port = free_port(), free_port()
        bin_dir = Path(sys.executable).parent
        servers.append(
            Server(
                "service",
                [str(bin_dir / "dbconnector"), "serve"],
                environment(work, service_port),
                service_port,
                work / "service.log",
            )
        )
        bare_env = environment(work, bare_port)
        bare_env["BENCH_TARGETS"] = json.dumps({t.name: t.spec for t in built})
        servers.append(
            Server(
                "bare_flask",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--chdir",
                    str(ROOT / "bench"),
                    "--config",
                    str(ROOT / "gunicorn.conf.py"),
                    "bare_app:app",
                ],
                bare_env,
                bare_port,
                work / "bare.log",
            )
        )
        extra = {"landing": landing} if landing is not None else {}
        conn_tokens = prepare_service(servers[0], built, extra)
        bench = Bench(options, servers[0], servers[1], conn_tokens, work)
        results = measure_all(bench, built, options, landing)
        checks = check_targets(results)
        report = {
            "machine": machine(),
            "settings": {k: v for k, v in vars(options).items() if k != "output"},
            "results": results,
            "targets": checks,
        }
        options.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(table(results, checks))
        print(f"\nwritten to {options.output}")
        return 0
    finally:
        # A second Ctrl-C (or a SIGTERM) during cleanup must not leave a server or a scratch
        # database behind: the cleanup runs to the end with those signals held off.
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, signal.SIG_IGN)
        print("stopping the servers and dropping the scratch databases...", flush=True)
        for server in servers:
            server.stop()
        for target in [*built, *([landing] if landing is not None else [])]:
            target_setup.drop(target)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
