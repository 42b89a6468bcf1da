"""WriteLock: one writer at a time across threads and processes, re-entrant within a thread."""

from __future__ import annotations

import fcntl
import os
import threading

import pytest

from dbconnector.lib.writelock import WriteLock


def _held_elsewhere(path) -> bool:  # type: ignore[no-untyped-def]
    with path.open("a") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe, fcntl.LOCK_UN)
        return False


def test_the_flock_is_held_inside_and_released_outside_even_when_nested(tmp_path):
    lock = WriteLock(tmp_path / "w.lock")
    for _ in range(3):  # the same open file serves every write of the process
        with lock:
            with lock:
                assert _held_elsewhere(lock.path)
            assert _held_elsewhere(lock.path)
        assert not _held_elsewhere(lock.path)


def test_a_forked_child_excludes_its_parent(tmp_path):
    lock = WriteLock(tmp_path / "w.lock")
    with lock:  # the parent's file is open before the fork, as in a gunicorn worker
        pass
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: hold the lock until the parent has looked
        try:
            with lock:
                os.write(ready_w, b"1")
                os.read(done_r, 1)
        finally:
            os._exit(0)
    acquired = threading.Event()

    def parent_writer() -> None:
        with lock:
            acquired.set()

    try:
        assert os.read(ready_r, 1) == b"1"
        writer = threading.Thread(target=parent_writer)
        writer.start()
        # An inherited open file would share the child's flock and let the parent in at once.
        assert not acquired.wait(0.3)
    finally:
        os.write(done_w, b"1")
        os.waitpid(pid, 0)
    assert acquired.wait(5)
    writer.join()


def test_a_failed_flock_leaves_the_lock_usable(tmp_path):
    lock = WriteLock(tmp_path / "missing" / "w.lock")
    with pytest.raises(FileNotFoundError), lock:
        pass
    (tmp_path / "missing").mkdir()
    with lock:
        assert _held_elsewhere(lock.path)
