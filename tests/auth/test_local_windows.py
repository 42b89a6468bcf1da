"""LocalWindows counts exactly as limits' MemoryStorage under the sliding-window-counter strategy,
starts no thread, keeps memory bounded and is safe under concurrent hits."""

from __future__ import annotations

import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st
from limits import parse
from limits.storage import MemoryStorage, Storage
from limits.strategies import SlidingWindowCounterRateLimiter

from dbconnector.auth.local_windows import LocalWindows

ITEMS = [parse("3/second"), parse("5/minute"), parse("20/minute")]
STEPS = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=70, allow_nan=False),  # seconds to advance first
        st.integers(0, len(ITEMS) - 1),
        st.sampled_from(["alice", "bob"]),
    ),
    max_size=60,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def assert_same_answers(storage: Storage, steps: list[tuple[float, int, str]]) -> None:
    """`storage` refuses, admits and reports windows exactly as limits' MemoryStorage does."""
    clock = Clock()
    original = time.time
    time.time = clock  # both storages and the strategy read time.time() at call time
    reference = SlidingWindowCounterRateLimiter(MemoryStorage())
    ours = SlidingWindowCounterRateLimiter(storage)
    try:
        for advance, index, who in steps:
            clock.now += advance
            item = ITEMS[index]
            expected = reference.hit(item, "dbc", "user", who)
            assert ours.hit(item, "dbc", "user", who) == expected
            assert ours.get_window_stats(item, "dbc", "user", who) == reference.get_window_stats(
                item, "dbc", "user", who
            )
    finally:
        time.time = original
        reference.storage.reset()


@settings(max_examples=300, deadline=None)
@given(STEPS)
def test_same_answers_as_limits_memory_storage(steps):
    assert_same_answers(LocalWindows(), steps)


def test_refuses_over_the_limit_and_recovers_in_a_later_window(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(time, "time", clock)
    strategy = SlidingWindowCounterRateLimiter(LocalWindows())
    item = parse("2/minute")
    assert [strategy.hit(item, "k") for _ in range(3)] == [True, True, False]
    clock.now += 120  # two windows on: both counts are gone
    assert strategy.hit(item, "k") is True


def test_hits_start_no_thread(monkeypatch):
    strategy = SlidingWindowCounterRateLimiter(LocalWindows())
    started = []
    start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self) or start(self))
    for n in range(200):
        strategy.hit(parse("10/second"), "user", str(n % 7))
        strategy.get_window_stats(parse("10/second"), "user", str(n % 7))
    assert started == []
    # The reference does start them, which is why LocalWindows exists.
    reference = SlidingWindowCounterRateLimiter(MemoryStorage())
    for n in range(200):
        reference.hit(parse("10/second"), "user", str(n % 7))
    assert started


def test_stale_keys_are_swept(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(time, "time", clock)
    windows = LocalWindows()
    strategy = SlidingWindowCounterRateLimiter(windows)
    item = parse("30/minute")
    for n in range(5000):  # invented usernames, each hit once
        strategy.hit(item, "auth-user", f"u{n}")
    assert len(windows) == 5000  # all still inside their window
    clock.now += 180
    for n in range(5000, 9200):
        strategy.hit(item, "auth-user", f"u{n}")
    # The sweep at 8,192 keys (the threshold doubles with the live keys) dropped the first 5,000.
    assert len(windows) == 4200


def test_concurrent_hits_never_exceed_the_limit(monkeypatch):
    monkeypatch.setattr(time, "time", Clock())  # no window boundary mid-test
    strategy = SlidingWindowCounterRateLimiter(LocalWindows())
    item = parse("1000/hour")
    allowed = []

    def hammer() -> None:
        allowed.append(sum(strategy.hit(item, "user", "1") for _ in range(300)))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 1000
