"""Every script under bench/ and security/ still imports and starts: an entry script answers
`--help`, a helper module imports from its own folder, and every script the Makefile runs exists.
So a helper moved from one script to another fails here instead of on a user's `make soak`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("bench", "security")
SCRIPTS = sorted(path for folder in FOLDERS for path in (ROOT / folder).glob("*.py"))


def is_entry(path: Path) -> bool:
    return 'if __name__ == "__main__":' in path.read_text()


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "script",
    [path for path in SCRIPTS if is_entry(path)],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_each_entry_script_answers_help(script):
    done = run(sys.executable, script, "--help")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("usage: "), done.stdout[:500]


@pytest.mark.parametrize(
    "module",
    [path for path in SCRIPTS if not is_entry(path)],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_each_helper_module_imports_from_its_folder(module):
    code = f"import sys; sys.path.insert(0, {str(module.parent)!r}); import {module.stem}"
    done = run(sys.executable, "-c", code)
    assert done.returncode == 0, done.stderr[-3000:]


def test_every_script_the_makefile_runs_is_one_of_them():
    makefile = (ROOT / "Makefile").read_text()
    named = re.findall(r"\$\(BIN\)/python ((?:bench|security|scripts)/\S+\.py)", makefile)
    assert {"bench/run.py", "bench/soak.py", "security/fuzz.py"} <= set(named)
    for script in named:
        assert (ROOT / script).is_file(), f"the Makefile runs {script}, which does not exist"
