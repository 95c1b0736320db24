"""An in-memory key-value store with per-key TTL, safe to share between threads.

Entries live in a dict; expiry times also go into a min-heap of (expires_at, version, key).
Every public call first pops the heap while its head is due, deleting those entries for real
(amortised O(log n) per expired key), so an expired value is released by the first call after
its expiry. Overwrites and deletes leave stale heap items behind; a version number tells them
apart, and the heap is rebuilt when stale items outnumber live ones, so memory follows the
number of live keys. One lock makes each call atomic, `incr` included.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections.abc import Callable
from typing import Any

_MISSING = object()


class KVStore:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._data: dict[str, tuple[Any, float | None, int]] = {}  # key -> (value, expires_at, version)
        self._heap: list[tuple[float, int, str]] = []
        self._version = 0

    # -- public API ---------------------------------------------------------------------------------

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        if ttl is not None and not (isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and math.isfinite(ttl) and ttl > 0):
            raise ValueError(f"ttl must be a finite number of seconds > 0, or None; got {ttl!r}")
        with self._lock:
            now = self._now()
            self._put(key, value, None if ttl is None else now + ttl)

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            entry = self._live(key, self._now())
            return default if entry is None else entry[0]

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._live(key, self._now()) is not None and self._data.pop(key, _MISSING) is not _MISSING

    def incr(self, key: str, delta: int = 1) -> int:
        if not _is_int(delta):
            raise TypeError(f"incr: delta must be an int, got {type(delta).__name__}")
        with self._lock:
            value, expires_at, _ = self._live(key, self._now()) or (0, None, 0)
            if not _is_int(value):
                raise TypeError(f"incr: the value of {key!r} is {type(value).__name__}, not int")
            value += delta
            self._put(key, value, expires_at)
            return value

    def ttl(self, key: str) -> float | None:
        with self._lock:
            now = self._now()
            entry = self._live(key, now)
            if entry is None:
                raise KeyError(key)
            return None if entry[1] is None else entry[1] - now

    def __len__(self) -> int:
        with self._lock:
            self._now()
            return len(self._data)

    # -- internals (call with the lock held) ----------------------------------------------------------

    def _now(self) -> float:
        """The clock's time, after removing every entry that expired by then."""
        now = self._clock()
        heap, data = self._heap, self._data
        while heap and heap[0][0] <= now:
            _, version, key = heapq.heappop(heap)
            entry = data.get(key)
            if entry is not None and entry[2] == version:
                del data[key]
        return now

    def _live(self, key: str, now: float) -> tuple[Any, float | None, int] | None:
        """The entry if it has not expired; _now() already removed due ones, this says what "due" is."""
        entry = self._data.get(key)
        if entry is None or (entry[1] is not None and entry[1] <= now):
            return None
        return entry

    def _put(self, key: str, value: Any, expires_at: float | None) -> None:
        self._version += 1
        self._data[key] = (value, expires_at, self._version)
        if expires_at is not None:
            heapq.heappush(self._heap, (expires_at, self._version, key))
            if len(self._heap) > 2 * len(self._data) + 64:
                self._compact()

    def _compact(self) -> None:
        """Drop heap items of overwritten or deleted entries."""
        self._heap = [(expires, version, key) for key, (_, expires, version) in self._data.items() if expires is not None]
        heapq.heapify(self._heap)


def _is_int(value: object) -> bool:
    """An int that is not a bool: True is a flag, not a count."""
    return isinstance(value, int) and not isinstance(value, bool)
