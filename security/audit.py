"""`make audit`: pip-audit over the locked versions, or a plain word that it could not look.

pip-audit needs its advisory service (PyPI's vulnerability data, or OSV with `--service osv`).
A machine that cannot reach it (a private network, a package mirror without that data) would
otherwise print one "could not be audited" error per package; instead one locked package is
looked up first, and when that fails the command says so and exits 2, having checked nothing.
With --strict a package it cannot look up fails the audit rather than passing unchecked.

    .venv/bin/python security/audit.py [--service pypi|osv]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ("requirements/runtime.txt", "requirements/test.txt")
PROBE = "flask"  # any locked package the advisory service knows


def pip_audit(service: str, *requirements: str) -> subprocess.CompletedProcess[str]:
    arguments = [a for path in requirements for a in ("-r", path)]
    command = [Path(sys.executable).parent / "pip-audit", "--strict", "--disable-pip"]
    command += ["--progress-spinner", "off", "--service", service, *arguments]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def reachable(service: str) -> bool:
    """Whether the advisory service answers for one locked package."""
    lock = (ROOT / LOCKS[0]).read_text()
    pinned = re.search(rf"^({PROBE}==\S+)", lock, re.MULTILINE | re.IGNORECASE)
    assert pinned, f"{PROBE} is not in {LOCKS[0]}"
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as probe:
        probe.write(pinned.group(1) + "\n")
        probe.flush()
        return pip_audit(service, probe.name).returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--service", choices=("pypi", "osv"), default="pypi")
    options = parser.parse_args(argv)
    if not reachable(options.service):
        print(
            f"make audit: the advisory service ({options.service}) cannot be reached from this "
            "machine, so NOTHING WAS CHECKED. Run `make audit` where it can be reached, such as "
            "a CI runner with internet access (docs/testing.md).",
            file=sys.stderr,
        )
        return 2
    done = pip_audit(options.service, *LOCKS)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
