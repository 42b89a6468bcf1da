"""SharedWindows (shm://) counts exactly as limits' MemoryStorage under the sliding-window-counter
strategy, and processes that open the same data dir share the counts: never more hits admitted
than the limit, however many processes and threads race for them."""

from __future__ import annotations

import multiprocessing
import tempfile
import threading
import time
from pathlib import Path

from hypothesis import given, settings
from limits import parse
from limits.strategies import SlidingWindowCounterRateLimiter

from dbconnector.auth.shared_windows import FILE_NAME, SharedWindows
from tests.auth.test_local_windows import STEPS, assert_same_answers


@settings(max_examples=150, deadline=None)
@given(STEPS)
def test_same_answers_as_limits_memory_storage(steps):
    with tempfile.TemporaryDirectory() as data_dir:
        assert_same_answers(SharedWindows(Path(data_dir)), steps)


def _race(data_dir: str, attempts: int, admitted) -> None:  # type: ignore[no-untyped-def]
    """One process: four threads hit one key; count what was admitted."""
    strategy = SlidingWindowCounterRateLimiter(SharedWindows(Path(data_dir)))
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
    strategy = SlidingWindowCounterRateLimiter(SharedWindows(tmp_path))
    item = parse("100/hour")
    assert not strategy.hit(item, "dbc", "user", "7")
    stats = strategy.get_window_stats(item, "dbc", "user", "7")
    assert stats.remaining == 0 and 0 < stats.reset_time - time.time() <= 3600
    assert strategy.hit(item, "dbc", "user", "8")  # another key is untouched


def test_the_file_is_private_and_a_cleared_key_starts_again(tmp_path):
    storage = SharedWindows(tmp_path)
    strategy = SlidingWindowCounterRateLimiter(storage)
    item = parse("1/hour")
    assert strategy.hit(item, "dbc", "auth-user", "a@x")
    assert not strategy.hit(item, "dbc", "auth-user", "a@x")
    assert (tmp_path / FILE_NAME).stat().st_mode & 0o777 == 0o600
    strategy.clear(item, "dbc", "auth-user", "a@x")
    assert strategy.hit(item, "dbc", "auth-user", "a@x")
    assert storage.check()
