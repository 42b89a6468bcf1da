"""ShmStorage (shm://) counts exactly as limits' MemoryStorage under the sliding-window-counter
strategy, limits opens it by its scheme, and processes that open the same data dir share the
counts: never more hits admitted than the limit, however many processes and threads race for
them."""

from __future__ import annotations

import multiprocessing
import tempfile
import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from dbconnector.auth.shm_storage import FILE_NAME, ShmStorage

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


@settings(max_examples=150, deadline=None)
@given(STEPS)
def test_same_answers_as_limits_memory_storage(steps):
    clock = Clock()
    original = time.time
    time.time = clock  # both storages and the strategy read time.time() at call time
    reference = SlidingWindowCounterRateLimiter(MemoryStorage())
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            ours = SlidingWindowCounterRateLimiter(ShmStorage(data_dir=data_dir))
            for advance, index, who in steps:
                clock.now += advance
                item = ITEMS[index]
                expected = reference.hit(item, "dbc", "user", who)
                assert ours.hit(item, "dbc", "user", who) == expected
                assert ours.get_window_stats(
                    item, "dbc", "user", who
                ) == reference.get_window_stats(item, "dbc", "user", who)
    finally:
        time.time = original
        reference.storage.reset()


def test_limits_opens_it_by_its_scheme_with_the_data_dir_option(tmp_path):
    storage = storage_from_string("shm://", data_dir=str(tmp_path))
    assert isinstance(storage, ShmStorage)
    assert SlidingWindowCounterRateLimiter(storage).hit(parse("1/hour"), "dbc", "user", "7")
    assert (tmp_path / FILE_NAME).exists()


def _race(data_dir: str, attempts: int, admitted) -> None:  # type: ignore[no-untyped-def]
    """One process: four threads hit one key; count what was admitted."""
    strategy = SlidingWindowCounterRateLimiter(ShmStorage(data_dir=data_dir))
    item = parse("100/hour")
    won = []

    def hit() -> None:
        for _ in range(attempts):
            if strategy.hit(item, "dbc", "user", "7"):
                won.append(1)

    threads = [threading.Thread(target=hit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with admitted.get_lock():
        admitted.value += len(won)


def test_processes_share_the_counts_and_never_admit_more_than_the_limit(tmp_path):
    context = multiprocessing.get_context("spawn")  # nothing inherited: each opens the file itself
    admitted = context.Value("i", 0)
    processes = [
        context.Process(target=_race, args=(str(tmp_path), 50, admitted)) for _ in range(3)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    assert admitted.value == 100  # 600 attempts, exactly the limit admitted across processes
    # and this process, opening the same file, sees the key spent with its Retry-After
    strategy = SlidingWindowCounterRateLimiter(ShmStorage(data_dir=tmp_path))
    item = parse("100/hour")
    assert not strategy.hit(item, "dbc", "user", "7")
    stats = strategy.get_window_stats(item, "dbc", "user", "7")
    assert stats.remaining == 0 and 0 < stats.reset_time - time.time() <= 3600
    assert strategy.hit(item, "dbc", "user", "8")  # another key is untouched


def test_the_file_is_private_and_a_cleared_key_starts_again(tmp_path):
    storage = ShmStorage(data_dir=tmp_path)
    strategy = SlidingWindowCounterRateLimiter(storage)
    item = parse("1/hour")
    assert strategy.hit(item, "dbc", "auth-user", "a@x")
    assert not strategy.hit(item, "dbc", "auth-user", "a@x")
    assert (tmp_path / FILE_NAME).stat().st_mode & 0o777 == 0o600
    strategy.clear(item, "dbc", "auth-user", "a@x")
    assert strategy.hit(item, "dbc", "auth-user", "a@x")
    assert storage.check()
