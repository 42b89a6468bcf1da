"""The instance's state epoch: eight bytes in a file in the data dir that every worker maps.

Each worker caches user state, connection records and grants for DBCONNECTOR_CACHE_SECONDS. A
change committed through one worker (a revocation, a disabled user, a role, a grant) rewrites
the epoch after its commit, and every worker compares the epoch with the one it last saw on each
authenticated call, dropping its caches when they differ, so the change holds at once on every
worker of this instance. Other instances still see it when their entries expire.

The epoch is a fresh random value, not a counter: two workers writing at once can then never
write the same value, so no lock is needed, and a torn read only costs one extra reload.
"""

from __future__ import annotations

import mmap
import os
import secrets
from pathlib import Path

FILE_NAME = "state.epoch"
_SIZE = 8


class SharedEpoch:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / FILE_NAME
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _SIZE:
                os.ftruncate(fd, _SIZE)
            # MAP_SHARED: a fork keeps the same pages, so workers forked later share them too.
            self._map = mmap.mmap(fd, _SIZE)
        finally:
            os.close(fd)

    def read(self) -> bytes:
        return self._map[:_SIZE]

    def bump(self) -> None:
        self._map[:_SIZE] = secrets.token_bytes(_SIZE)
