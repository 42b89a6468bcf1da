"""bench/run.py's options: --quick changes defaults, never what was asked for explicitly; a
reference that served nothing gives no ratio and a missed target, not a crash."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import run


def test_quick_sets_only_what_was_not_given() -> None:
    quick = run.options_from(["--quick", "--runs", "3"])
    assert (quick.duration, quick.runs, quick.warmup) == (3.0, 3, 1.0)
    full = run.options_from(["--duration", "5", "--backend", "sqlite", "--scenario", "select_pk"])
    assert (full.duration, full.runs, full.warmup) == (5.0, 3, 2.0)
    assert full.backend == ["sqlite"] and full.scenario == ["select_pk"]


def test_a_reference_that_served_nothing_is_a_missed_target() -> None:
    assert run.ratio(900.0, 1000.0) == 0.9
    assert run.ratio(900.0, 0.0) is None
    service = {"rps": 1600.0, "p50_ms": 10.0, "p99_ms": 20.0, "errors": 0}
    results = {"sqlite": {"select_pk": {"32": {"service": service, "service_vs_bare_flask": None}}}}
    met = {c["target"]: c["met"] for c in run.check_targets(results)}
    assert met["sqlite select_pk c=32 >= 0.6 x bare_flask"] is False
    assert met["sqlite select_pk c=32 >= 1500 req/s"] is True
    assert met["sqlite select_pk c=32 p99 <= 5 x p50"] is True


def test_a_run_with_an_idle_worker_is_unbalanced() -> None:
    assert run.is_balanced([500, 480])
    assert run.is_balanced([500, 160])
    assert not run.is_balanced([900, 3])  # one worker took every connection
    assert run.is_balanced([])


def test_cpu_ticks_count_this_process_and_read_zero_when_gone() -> None:
    import os
    import time

    start, deadline = run.cpu_ticks(os.getpid()), time.process_time() + 0.1
    while time.process_time() < deadline:
        pass
    assert run.cpu_ticks(os.getpid()) >= start + 5  # 100 ticks per second on Linux
    assert run.cpu_ticks(2**22 + 12345) == 0


def test_refresh_is_held_against_bare_refresh_at_both_concurrencies() -> None:
    service = {"rps": 700.0, "p50_ms": 10.0, "p99_ms": 20.0, "errors": 0}
    results = {
        "any": {
            "refresh": {
                "1": {
                    "service": service,
                    "bare_flask_refresh": {**service, "errors": 3},
                    "service_vs_bare_flask_refresh": 0.79,
                },
                "32": {
                    "service": service,
                    "bare_flask_refresh": service,
                    "service_vs_bare_flask_refresh": 0.66,
                },
            }
        }
    }
    met = {c["target"]: c["met"] for c in run.check_targets(results)}
    assert met["refresh c=1 >= 0.8 x bare_flask /refresh"] is False
    assert met["refresh c=32 >= 0.65 x bare_flask /refresh"] is True
    assert met["refresh c=1 bare_flask /refresh zero errors"] is False
    assert met["refresh c=32 bare_flask /refresh zero errors"] is True
    assert not any("refresh c=32 >= 0.8 x bare_flask heartbeat" in t for t in met)


def test_transfers_are_held_against_their_reference_and_print_a_line() -> None:
    outcome = {
        "rows_per_s": 90_000,
        "seconds": 11.1,
        "rss_growth_mb": 12.5,
        "errors": 0,
        "reference_kind": "copy_pipe",
        "reference": {"rows_per_s": 200_000},
        "service_vs_reference": 0.45,
    }
    results = {"transfer": {"transfer_1m_pg_pg": outcome}}
    met = {c["target"]: c["met"] for c in run.check_targets(results)}
    assert met == {
        "transfer_1m_pg_pg zero errors": True,
        "transfer_1m_pg_pg >= 0.3 x COPY pipe": True,
        "transfer_1m_pg_pg worker RSS growth < 50 MB": True,
    }
    printed = run.table(results, run.check_targets(results))
    assert "90,000 rows/s" in printed and "service / reference = 0.45" in printed
