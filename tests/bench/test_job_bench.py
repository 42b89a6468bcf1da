"""bench/job_bench.py's summaries and target checks, and how run.py reports the job scenarios
(the scenarios themselves run only in `make bench`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import job_bench
import run


def _wrk(rps: float, errors: int = 0) -> dict[str, float]:
    return {"rps": rps, "p50_ms": 10.0, "p99_ms": 20.0, "errors": errors}


RESULTS = {
    "postgresql": {
        "job_spool_1m": {
            "rows_per_s": 200_000,
            "seconds": 5.0,
            "rss_growth_mb": 60.0,
            "errors": 0,
            "stream_1m": {"rows_per_s": 380_000},
            "job_vs_stream_1m": 0.526,
        },
        "job_page": {
            "8": {"service": _wrk(700), "reference": _wrk(710), "job_vs_select_1000": 0.986}
        },
        "job_submit": {
            "32": {"service": _wrk(500, 1), "reference": _wrk(900), "job_vs_select_pk": 0.556}
        },
        "job_submit_rq": {
            "32": {"service": _wrk(400), "reference": _wrk(900), "job_vs_select_pk": 0.444}
        },
        "job_cancel": {
            "samples": 20,
            "p50_ms": 180.0,
            "p95_ms": 1000.0,
            "max_ms": 1200.0,
            "job_cancelled_p95_ms": 1010.0,
            "errors": 0,
        },
    }
}


def test_each_job_target_is_checked_against_the_issue_s_line() -> None:
    met = {c["target"]: c["met"] for c in run.check_targets(RESULTS)}
    assert met == {
        "postgresql job_spool_1m zero errors": True,
        "postgresql job_spool_1m >= 0.5 x stream_1m": True,
        "postgresql job_spool_1m worker RSS growth < 50 MB": False,
        "postgresql job_page c=8 zero errors": True,
        "postgresql job_page c=8 >= 1.0 x select_1000": False,
        "postgresql job_submit c=32 zero errors": False,
        "postgresql job_submit c=32 >= 0.5 x select_pk": True,
        "postgresql job_submit_rq c=32 zero errors": True,
        "postgresql job_submit_rq c=32 >= 0.5 x select_pk": False,
        "postgresql job_cancel p95 < 1000 ms": False,  # strictly below a second
        "postgresql job_cancel every job ended cancelled": True,
    }
    table = run.table(RESULTS, run.check_targets(RESULTS))
    assert "job / stream_1m = 0.526" in table and "job / it = 0.986" in table
    assert "job_submit_rq  32" in table and "job / it = 0.444" in table
    assert "p95 1000.0 ms" in table and "targets met: 6 of 11" in table


def test_a_reference_that_served_nothing_misses_the_ratio_target() -> None:
    outcome = {"8": {"service": _wrk(700), "reference": _wrk(0), "job_vs_select_1000": None}}
    [_, ratio] = job_bench.checks("postgresql", "job_page", outcome)
    assert ratio == ("postgresql job_page c=8 >= 1.0 x select_1000", False, None)


def test_cancel_summary_takes_nearest_rank_percentiles_and_counts_unended_jobs() -> None:
    samples = [{"ms": float(ms), "job_ms": ms + 5.0, "errors": 0} for ms in range(1, 21)]
    samples[3]["errors"] = 1
    summary = job_bench.cancel_summary(samples)
    assert summary == {
        "samples": 20,
        "p50_ms": 10.5,
        "p95_ms": 19.0,
        "max_ms": 20.0,
        "job_cancelled_p95_ms": 24.0,
        "errors": 1,
    }
    assert job_bench.percentile([7.0], 0.95) == 7.0
    assert job_bench.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0


def test_quick_takes_fewer_cancel_samples_unless_told() -> None:
    assert run.options_from(["--quick"]).cancel_samples == 5
    assert run.options_from(["--quick", "--cancel-samples", "9"]).cancel_samples == 9
    assert run.options_from([]).cancel_samples == job_bench.CANCEL_SAMPLES
    assert set(job_bench.SCENARIOS) <= set(run.options_from([]).scenario)
