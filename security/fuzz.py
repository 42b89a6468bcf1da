"""`make fuzz`: schemathesis against a served DBConnector, longer than `make test`'s bounded run.

Starts `dbconnector serve` (gunicorn, the demo's SQLite target, flood limits raised) on a free
loopback port, and runs schemathesis over /v1/openapi.json with every operation's examples,
coverage and fuzzing phases, as an OWNER (security/fuzz_auth.py logs in again every minute, since
tokens expire and a run can take longer). The checks: no 5xx, and every status code,
content type and body as the document says. Exit status is schemathesis's.

    .venv/bin/python security/fuzz.py [--max-examples 200]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from served import serve_service

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)
OWNER = ("fuzz_owner", secrets.token_urlsafe(12))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-examples", type=int, default=200)
    options = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="dbc-fuzz-"))
    server = serve_service(work, OWNER, DBCONNECTOR_DEMO="1")
    try:
        hooks = {
            "SCHEMATHESIS_HOOKS": str(Path(__file__).with_name("fuzz_auth.py")),
            "DBC_FUZZ_BASE": server.url(""),
            "DBC_FUZZ_USER": OWNER[0],
            "DBC_FUZZ_PASSWORD": OWNER[1],
        }
        return subprocess.call(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                server.url("/v1/openapi.json"),
                "--checks",
                CHECKS,
                "--max-examples",
                str(options.max_examples),
                # One worker: with two threads, CPython 3.11's ast module can raise a spurious
                # "AST constructor recursion depth mismatch" inside Hypothesis (cpython#106905),
                # failing the run with an error that is not the service's.
                "--workers",
                "1",
            ],
            env={**os.environ, **hooks},
        )
    finally:
        server.stop()
        print(f"service log: {work / 's.log'}")


if __name__ == "__main__":
    sys.exit(main())
