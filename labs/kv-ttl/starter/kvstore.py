"""An in-memory key-value store with per-key TTL, safe to share between threads (see README.md)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class KVStore:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        raise NotImplementedError("KVStore.set: your code here")

    def get(self, key: str, default: Any = None) -> Any:
        raise NotImplementedError("KVStore.get: your code here")

    def delete(self, key: str) -> bool:
        raise NotImplementedError("KVStore.delete: your code here")

    def incr(self, key: str, delta: int = 1) -> int:
        raise NotImplementedError("KVStore.incr: your code here")

    def ttl(self, key: str) -> float | None:
        raise NotImplementedError("KVStore.ttl: your code here")

    def __len__(self) -> int:
        raise NotImplementedError("KVStore.__len__: your code here")
