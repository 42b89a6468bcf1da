"""A `limits` storage for the scheme shm:// (DBCONNECTOR_RATELIMIT_STORAGE_URL's default):
sliding-window counters in a shared-memory file in the data dir, shared by every worker of an
instance. Flask-Limiter loads it by its scheme, like its own Redis storage, as defining the class
registers it in limits' storage registry; the data dir comes in the storage options.

Each gunicorn worker is its own process, so in-process counters give an attacker the limit times
the number of workers, and a flooded client sees answers flip between refused and served. Here the
counts live in FILE_NAME, mapped into every worker (mmap, MAP_SHARED): a fixed table of SLOTS
slots, open addressing over a keyed 64-bit hash of the key (the salt is made with the file, so
no caller can aim two keys at one slot). A hit reads and writes its slot under a thread lock and
an flock of the file, so two workers can never both take the last hit. Slots are never emptied:
one whose windows have passed is reused by the next new key that probes it, so the file's size is
its whole memory. If PROBES slots in a row are all live (an attack inventing that many usernames
within two windows), TableFull is raised and Flask-Limiter counts in its in-memory fallback for a
while, and logs it.

Chosen over a SQLite file with a row per key by measurement (docs/design.md): a hit costs less
than half as much, and a write transaction per authenticated call is not worth its durability.

A limits storage answers the sliding-window-counter strategy's two questions itself
(acquire_sliding_window_entry, get_sliding_window), as limits' MemoryStorage and RedisStorage do;
the arithmetic here is MemoryStorage's, on one slot per key instead of two keys, so the strategy
counts, refuses and reports Retry-After exactly as with memory:// (tests/auth/test_shm_storage.py
compares them).
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import secrets
import struct
import threading
import time
from math import floor
from pathlib import Path

from limits.storage import Storage
from limits.storage.base import SlidingWindowCounterSupport

SCHEME = "shm://"
FILE_NAME = "flood.shm"
SLOTS = 1 << 17
PROBES = 64
_MAGIC = b"DBCFLOOD1"
_HEADER = struct.Struct("<16s16s")  # magic, hash salt
# key hash, expiry, window, previous count, current count
_SLOT = struct.Struct("<Qqqqq")
_SIZE = _HEADER.size + SLOTS * _SLOT.size


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


class TableFull(OSError):
    """Every slot a key may use holds a live count."""


class ShmStorage(Storage, SlidingWindowCounterSupport):
    """Counters every process that opens `data_dir`/FILE_NAME shares: shm://, with the option
    data_dir (the current directory's var/ if not given)."""

    STORAGE_SCHEME = ["shm"]  # limits reads the class attribute as a list

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        data_dir: str | Path = "var",
        **options: object,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / FILE_NAME
        self._lock = threading.Lock()
        self._pid = 0
        self._fd = -1
        self._map: mmap.mmap | None = None
        self._salt = b""

    @property
    def base_exceptions(self) -> type[Exception]:
        return OSError

    def _open(self) -> mmap.mmap:
        # Per process: an flock belongs to the open file, which a fork would share with the parent.
        if self._map is not None and self._pid == os.getpid():
            return self._map
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_size < _SIZE:  # new, or cut short while being made
                os.pwrite(fd, _HEADER.pack(_MAGIC, secrets.token_bytes(16)), 0)
                os.ftruncate(fd, _SIZE)  # sparse: pages cost memory only once touched
            magic, salt = _HEADER.unpack(os.pread(fd, _HEADER.size, 0))
            if magic.rstrip(b"\0") != _MAGIC:
                raise OSError(f"{self.path} is not a flood table")
            mapped = mmap.mmap(fd, _SIZE)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        self._fd, self._map, self._salt, self._pid = fd, mapped, salt, os.getpid()
        return mapped

    def _hash(self, key: str) -> int:
        digest = hashlib.blake2b(key.encode(), digest_size=8, key=self._salt).digest()
        return int.from_bytes(digest, "little") or 1  # 0 marks a slot never used

    def _find(self, table: mmap.mmap, key_hash: int, expiry: int, now: float, claim: bool) -> int:
        """The offset of the key's slot; with `claim`, a new or spent slot made the key's."""
        start = key_hash % SLOTS
        spare = -1
        for probe in range(PROBES):
            offset = _HEADER.size + ((start + probe) % SLOTS) * _SLOT.size
            owner, owner_expiry, window, _, _ = _SLOT.unpack_from(table, offset)
            if owner == key_hash and owner_expiry == expiry:
                return offset
            if spare < 0 and (owner == 0 or now // owner_expiry > window + 1):
                spare = offset
            if owner == 0:
                break
        if not claim:
            return -1
        if spare < 0:
            raise TableFull(f"no free slot in {PROBES} for a new flood key")
        _SLOT.pack_into(table, spare, key_hash, expiry, int(now // expiry), 0, 0)
        return spare

    def _window(
        self, key: str, expiry: int, limit: int, amount: int
    ) -> tuple[bool, tuple[int, float, int, float]]:
        """Roll the key to this window, add `amount` hits if they fit (none when `amount` is
        0), and answer (admitted, window info), under both locks."""
        with self._lock:
            table = self._open()
            key_hash = self._hash(key)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                now = time.time()
                window = int(now // expiry)
                offset = self._find(table, key_hash, expiry, now, claim=amount > 0)
                if offset < 0:
                    return False, window_info(0, 0, expiry, now)
                _, _, stored, previous, current = _SLOT.unpack_from(table, offset)
                previous, current = rolled(stored, previous, current, window)
                info = window_info(previous, current, expiry, now)
                admitted = amount > 0 and admits(info, expiry, limit, amount)
                if admitted:
                    current += amount
                _SLOT.pack_into(table, offset, key_hash, expiry, window, previous, current)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        return admitted, info

    def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        if amount > limit:
            return False
        return self._window(key, expiry, limit, amount)[0]

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        return self._window(key, expiry, 0, 0)[1]

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        with self._lock:
            table = self._open()
            key_hash = self._hash(key)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                offset = self._find(table, key_hash, expiry, time.time(), claim=False)
                if offset >= 0:  # spent: window 0 lies in the past for every expiry
                    _SLOT.pack_into(table, offset, key_hash, expiry, 0, 0, 0)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def reset(self) -> int:
        with self._lock:
            table = self._open()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                table[_HEADER.size :] = bytes(SLOTS * _SLOT.size)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        return 0

    def check(self) -> bool:
        with self._lock:
            return len(self._open()) == _SIZE

    # Fixed-window counters and single keys: flood control uses only the sliding windows.
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("ShmStorage keeps sliding windows only")

    def get(self, key: str) -> int:
        raise NotImplementedError("ShmStorage keeps sliding windows only")

    def get_expiry(self, key: str) -> float:
        raise NotImplementedError("ShmStorage keeps sliding windows only")

    def clear(self, key: str) -> None:
        raise NotImplementedError("ShmStorage keeps sliding windows only")
