#!/usr/bin/env bash
# Fake fix: a fixed window counted in Redis, read and written back as two commands -- two
# replicas reading the same count both accept, and one of the increments is lost.
set -euo pipefail
cat > "$BREAKFIX_WORKSPACE/stack/app/limiter.py" <<'PY'
"""Rate limit in Redis: a counter per key and window, GET then SET."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import redis


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0


class Limiter:
    def __init__(self, limit: int, window: int, redis_url: str) -> None:
        self.limit = limit
        self.window = window
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.1, socket_connect_timeout=0.1)

    @classmethod
    def from_env(cls) -> Limiter:
        return cls(int(os.environ["RATE_LIMIT"]), int(os.environ["RATE_WINDOW_SECONDS"]), os.environ["REDIS_URL"])

    def hit(self, key: str) -> Decision:
        now = time.time()
        start = int(now // self.window) * self.window
        counter = f"ratelimit:{key}:{start}"
        try:
            count = int(self._redis.get(counter) or 0)
            if count >= self.limit:
                return Decision(False, max(1, int(start + self.window - now + 0.999)))
            self._redis.set(counter, count + 1, ex=self.window)
        except (redis.RedisError, OSError):
            return Decision(True)
        return Decision(True)
PY
bash "$(dirname "$0")/../solution/reload-replicas.sh"
