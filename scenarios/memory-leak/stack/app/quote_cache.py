"""The quote cache: computed quotes per (customer, sku), so repeat lookups skip the pricing engine.

A quote keeps its audit trail (every contract rule that was evaluated), so one entry weighs
tens of kilobytes: the cache MUST stay bounded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

Key = tuple[str, str]


class QuoteCache:
    """Least recently used quotes are evicted once `max_entries` is reached; entries also expire after `ttl`."""

    def __init__(self, max_entries: int, ttl: float) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Key, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compute(self, key: Key, compute: Callable[[], Any]) -> tuple[Any, bool]:
        """(quote, True) from the cache, or (freshly computed quote, False)."""
        now = time.monotonic()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and now - found[0] < self.ttl:
                self._entries.move_to_end(key)
                self.hits += 1
                return found[1], True
            self.misses += 1
        quote = compute()
        with self._lock:
            self._entries[key] = (now, quote)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return quote, False

    def sweep_expired(self) -> int:
        """Drop expired entries; returns how many went."""
        now = time.monotonic()
        with self._lock:
            expired = [key for key, (stored, _) in self._entries.items() if now - stored >= self.ttl]
            for key in expired:
                del self._entries[key]
        return len(expired)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._entries), "max_entries": self.max_entries, "hits": self.hits, "misses": self.misses}
