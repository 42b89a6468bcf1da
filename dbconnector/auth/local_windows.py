"""In-process sliding-window counters for flood control (memory://, and the fallback while Redis
is down).

limits' MemoryStorage expires keys with a Timer thread that it starts again every 10 ms while any
key lives; under load that thread start and its run cost a visible share of a one-row select
(bench/README.md). This storage keeps only what the sliding-window-counter strategy reads
(this window's count and the previous one's) and lets windows roll over lazily on the next hit,
so there is no thread at all. Stale keys are swept on insertion, amortised, so memory stays
bounded by the keys active in the last two windows even when callers invent usernames.

It is a MemoryStorage (limits' strategies accept only Storage subclasses) that overrides the
sliding-window methods with the same arithmetic, so `SlidingWindowCounterRateLimiter` counts,
refuses and reports exactly as before (tests/auth/test_local_windows.py compares the two).
MemoryStorage's own timed keys (fixed windows) stay as they were; flood control never uses them.
"""

from __future__ import annotations

import threading
import time
from math import floor

from limits.storage import MemoryStorage

_FIRST_SWEEP = 1024


class _Slot:
    __slots__ = ("current", "expiry", "previous", "window")

    def __init__(self, expiry: int, window: int) -> None:
        self.expiry, self.window, self.previous, self.current = expiry, window, 0, 0

    def roll(self, window: int) -> None:
        self.previous, self.current = rolled(self.window, self.previous, self.current, window)
        self.window = window


def rolled(stored: int, previous: int, current: int, window: int) -> tuple[int, int]:
    """The (previous, current) counts of a key stored in window `stored`, seen from `window`:
    the current count becomes the previous one if it was the window just before, and is
    forgotten if it is older."""
    if window == stored:
        return previous, current
    return (current if window == stored + 1 else 0), 0


def window_info(
    previous: int, current: int, expiry: int, now: float
) -> tuple[int, float, int, float]:
    """What get_sliding_window answers: the same TTL arithmetic as limits' MemoryStorage."""
    previous_ttl = (1 - (((now - expiry) / expiry) % 1)) * expiry if previous else 0.0
    current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
    return previous, previous_ttl, current, current_ttl


def admits(info: tuple[int, float, int, float], expiry: int, limit: int, amount: int) -> bool:
    """Whether `amount` more hits stay within `limit` (the strategy's weighted count)."""
    previous, previous_ttl, current, _ = info
    return floor(previous * previous_ttl / expiry + current) + amount <= limit


class LocalWindows(MemoryStorage):
    """A thread-safe sliding-window counter store for one process."""

    # No STORAGE_SCHEME: memory:// keeps naming limits' own MemoryStorage.

    def __init__(self) -> None:
        super().__init__()
        self._slots: dict[str, _Slot] = {}
        self._slots_lock = threading.Lock()
        self._sweep_at = _FIRST_SWEEP

    def _slot(self, key: str, expiry: int, now: float) -> _Slot:
        window = int(now // expiry)
        slot = self._slots.get(key)
        if slot is None:
            if len(self._slots) >= self._sweep_at:
                self._sweep(now)
            slot = self._slots[key] = _Slot(expiry, window)
        else:
            slot.roll(window)
        return slot

    def _sweep(self, now: float) -> None:
        self._slots = {
            key: slot for key, slot in self._slots.items() if now // slot.expiry <= slot.window + 1
        }
        self._sweep_at = max(_FIRST_SWEEP, 2 * len(self._slots))

    @staticmethod
    def _info(slot: _Slot, expiry: int, now: float) -> tuple[int, float, int, float]:
        return window_info(slot.previous, slot.current, expiry, now)

    def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        if amount > limit:
            return False
        now = time.time()
        with self._slots_lock:
            slot = self._slot(key, expiry, now)
            if not admits(self._info(slot, expiry, now), expiry, limit, amount):
                return False
            slot.current += amount
            return True

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        now = time.time()
        with self._slots_lock:
            return self._info(self._slot(key, expiry, now), expiry, now)

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        with self._slots_lock:
            self._slots.pop(key, None)

    def reset(self) -> int:
        with self._slots_lock:
            count = len(self._slots)
            self._slots.clear()
        return count + (super().reset() or 0)

    def __len__(self) -> int:
        return len(self._slots)
