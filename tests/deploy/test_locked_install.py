"""`make install` as a new user runs it: a brand-new venv from the machine's stock `python3 -m venv`
(whatever pip that brings), the hash-locked install, `pip check`, and an import of the packages.

The lock must install as it stands: nothing resolved on the index, so a release published after
the lock was made cannot break it, and a failed install stops make with pip's own error.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def locked_version(name: str) -> str:
    text = (ROOT / "requirements" / "test.txt").read_text()
    match = re.search(rf"^{re.escape(name)}==(\S+)", text, re.MULTILINE)
    assert match, f"{name} is not pinned in requirements/test.txt"
    return match.group(1)


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def make(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_a_new_stock_venv_installs_the_lock_passes_pip_check_and_imports(tmp_path):
    stock = shutil.which("python3")
    assert stock, "the machine's python3 is needed"
    venv = tmp_path / "venv"
    done = make("install", f"VENV={venv}", f"PYTHON={stock}")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    python = venv / "bin" / "python"
    # The lock's own pip replaced whatever `python3 -m venv` brought.
    pip = subprocess.run(
        [python, "-m", "pip", "--version"], capture_output=True, text=True, check=True
    )
    assert pip.stdout.startswith(f"pip {locked_version('pip')} ")
    check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0 and "No broken requirements" in check.stdout, check.stdout
    imported = subprocess.run(
        [
            python,
            "-c",
            "import dbconnector, dbconnector_client, flask; print(dbconnector.__file__)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert imported.returncode == 0, imported.stderr
    assert Path(imported.stdout.strip()).is_relative_to(ROOT / "dbconnector")
    # Nothing beyond the lock: every installed distribution is pinned there (or is ours).
    frozen = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    pinned = {
        normalized(name) + "==" + version
        for name, version in re.findall(
            r"^(\S+)==(\S+)", (ROOT / "requirements" / "test.txt").read_text(), re.MULTILINE
        )
    }
    for line in frozen:
        name, _, version = line.partition("==")
        assert normalized(name) + "==" + version in pinned, f"{line} is not what the lock pins"


def test_a_failed_install_stops_make_with_pips_error(tmp_path):
    # A copy of the recipe's inputs with one hash broken: pip must refuse, and make must stop.
    work = tmp_path / "repo"
    shutil.copytree(
        ROOT,
        work,
        ignore=shutil.ignore_patterns(".venv", ".git", "var", "*.pyc", "__pycache__", "tests"),
    )
    lock = work / "requirements" / "test.txt"
    text = lock.read_text()
    # Every hash of the first locked package, so no file of it can match.
    start = re.search(r"^\S+==", text, re.MULTILINE)
    assert start
    end = re.search(r"^\S+==", text[start.end() :], re.MULTILINE)
    assert end
    block = text[start.start() : start.end() + end.start()]
    broken = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, block)
    lock.write_text(text.replace(block, broken, 1))
    done = make(
        "install", f"VENV={tmp_path / 'venv'}", f"PYTHON={shutil.which('python3')}", cwd=work
    )
    assert done.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in done.stdout + done.stderr
    assert not (tmp_path / "venv" / ".installed-stamp").exists()
