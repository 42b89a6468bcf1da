"""gunicorn.conf.py's post_worker_init freezes what the loaded app built, so a full garbage
collection in a worker no longer walks it (40-47 ms pauses of every thread, under load)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# As a worker does: load the app (wsgi.py), then run the hook; report what the collector still
# tracks and what it no longer scans.
WORKER = """
import gc, json, runpy, sys
import wsgi  # noqa: F401 - the app, as gunicorn loads it in each worker
tracked = len(gc.get_objects())
runpy.run_path(sys.argv[1])["post_worker_init"](None)
print(json.dumps({"tracked_before": tracked, "frozen": gc.get_freeze_count(),
                  "tracked_after": len(gc.get_objects())}))
"""


def test_a_worker_freezes_the_loaded_app_out_of_garbage_collection(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DBCONNECTOR_DATA_DIR": str(tmp_path),
        "DBCONNECTOR_SECRET_KEY": "gc-test-secret-key-0123456789abcdef",
        # This data dir is never migrated: job workers would log their failing polls on stdout.
        "DBCONNECTOR_JOB_WORKERS": "0",
    }
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(ROOT / "gunicorn.conf.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["tracked_before"] > 20_000  # the app really was loaded
    assert counts["frozen"] >= counts["tracked_before"]
    assert counts["tracked_after"] < 1_000  # a full collection now walks almost nothing
