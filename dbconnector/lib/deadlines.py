"""Deadlines: call a function at a moment unless the deadline is withdrawn first, for every
deadline of a process on one thread (a heap), so arming one costs no thread of its own.

Used for what must happen even while the thread it concerns is blocked: shutting a socket whose
client withholds its body (web/body_deadline.py), cancelling a statement whose caller turned its
timeout off (execution/run.py).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Deadlines:
    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Condition()
        self._due: list[tuple[float, int, Callable[[], None]]] = []  # a heap, by moment
        self._armed: set[int] = set()
        self._fired: set[int] = set()
        self._keys = itertools.count()
        self._pid = 0  # the process whose thread runs the heap (gunicorn forks its workers)

    def arm(self, seconds: float, action: Callable[[], None]) -> int:
        """Call `action` in `seconds` unless withdrawn first; the key to withdraw it by."""
        key = next(self._keys)
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, name=self.name, daemon=True).start()
            heapq.heappush(self._due, (time.monotonic() + seconds, key, action))
            self._armed.add(key)
            self._lock.notify()
        return key

    def withdraw(self, key: int) -> bool:
        """Disarm; whether the action had already been called (or is being called)."""
        with self._lock:
            self._armed.discard(key)
            fired = key in self._fired
            self._fired.discard(key)
            return fired

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._due and self._due[0][1] not in self._armed:
                    heapq.heappop(self._due)  # withdrawn in time
                if not self._due:
                    self._lock.wait()
                    continue
                moment, key, action = self._due[0]
                if moment > time.monotonic():
                    self._lock.wait(moment - time.monotonic())
                    continue
                heapq.heappop(self._due)
                self._armed.discard(key)
                self._fired.add(key)
            try:
                action()
            except Exception:  # one failed action must not stop the others
                log.warning("a %s action failed", self.name, exc_info=True)
