"""The service's own files: a data dir only its owner may enter (0700), files only it may read
(0600), so another local account (a database server reading files, say) cannot read them."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) if missing, and narrow it to 0700 when it is ours: mkdir's
    mode is masked by the umask, and a directory made before keeps its own."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _narrow(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty if missing, and narrow it to 0600 when it is ours. SQLite gives a
    database's -wal, -shm and journal files the database file's mode, so they follow it."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
    _narrow(path, FILE_MODE)
    return path


def _narrow(path: Path, mode: int) -> None:
    # A volume mounted from elsewhere may belong to another account: leave its mode to it.
    if path.stat().st_uid == os.getuid():
        os.chmod(path, mode)
