"""The benchmark reads wrk's numbers from the BENCH_JSON line of bench/lua/scenario.lua."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import wrk

OUTPUT = """Running 10s test @ http://127.0.0.1:8000/v1/select/sqlite
  2 threads and 32 connections
Requests/sec:   2789.30
BENCH_JSON {"requests":27893,"duration_us":10000000,"p50_us":10305,"p99_us":33952,\
"bad_responses":2,"socket_errors":1}
"""


def test_parse_reads_rate_latency_and_every_kind_of_error():
    run = wrk.parse(OUTPUT)
    assert run.rps == pytest.approx(2789.3)
    assert (run.p50_ms, run.p99_ms) == (10.305, 33.952)
    assert run.errors == 3 and run.requests == 27893


def test_parse_refuses_output_without_the_summary_line():
    with pytest.raises(ValueError, match="no BENCH_JSON line"):
        wrk.parse("Requests/sec: 100\n")
