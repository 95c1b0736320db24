"""The API's rate limit: RATE_LIMIT requests per key in any RATE_WINDOW_SECONDS (a sliding window).

Kept in process memory: per key, the times of the requests accepted in the last window. No
network hop on the hot path, nothing to fail: a lock and a deque per key.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # whole seconds until the key may send again (HTTP Retry-After)


class Limiter:
    def __init__(self, limit: int, window: int, redis_url: str) -> None:
        self.limit = limit
        self.window = window
        self.redis_url = redis_url  # PLAT-88: shared limits, once the store is provisioned
        self._lock = threading.Lock()
        self._accepted: dict[str, deque[float]] = defaultdict(deque)

    @classmethod
    def from_env(cls) -> Limiter:
        return cls(int(os.environ["RATE_LIMIT"]), int(os.environ["RATE_WINDOW_SECONDS"]), os.environ["REDIS_URL"])

    def hit(self, key: str) -> Decision:
        now = time.monotonic()
        with self._lock:
            log = self._accepted[key]
            while log and log[0] <= now - self.window:
                log.popleft()
            if len(log) < self.limit:
                log.append(now)
                return Decision(True)
            return Decision(False, max(1, math.ceil(log[0] + self.window - now)))
