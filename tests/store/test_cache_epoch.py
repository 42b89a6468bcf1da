"""The state caches: a value loaded across an invalidation is not kept, and the workers of an
instance (here, two openers of one data dir) see each other's changes through the epoch."""

from __future__ import annotations

from dbconnector.lib.ttl_cache import TTLCache
from dbconnector.store.epoch import FILE_NAME, SharedEpoch


def test_a_value_loaded_while_it_was_invalidated_is_not_kept():
    cache: TTLCache[str] = TTLCache(60)
    loads = []

    def load_racing_a_change() -> str:
        loads.append(1)
        cache.invalidate(lambda key: key == "user")  # a change commits while this load runs
        return "stale"

    assert cache.get("user", load_racing_a_change) == "stale"
    assert cache.get("user", lambda: "fresh") == "fresh"  # loaded again, not the stale copy
    assert cache.get("user", lambda: "unused") == "fresh"  # and that one is kept
    assert loads == [1]


def test_workers_of_one_data_dir_see_each_others_changes(tmp_path):
    mine, theirs = SharedEpoch(tmp_path), SharedEpoch(tmp_path)
    seen = theirs.read()
    mine.bump()
    assert theirs.read() != seen
    seen = theirs.read()
    assert theirs.read() == seen  # unchanged until the next change
    mine.bump()
    assert theirs.read() != seen
    assert (tmp_path / FILE_NAME).stat().st_mode & 0o777 == 0o600
