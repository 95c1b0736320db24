"""The API's rate limit: RATE_LIMIT requests per key in any RATE_WINDOW_SECONDS (a sliding window).

One Redis serves every replica, so the limit holds for the key across the fleet, however the
load balancer spreads its requests. Each decision is one Lua script: Redis runs it atomically,
so two replicas deciding for the same key at the same instant cannot both take the last slot.

Per key, a sorted set holds the timestamps (Redis' own clock, so replicas' clocks do not matter)
of the requests accepted in the last window; it expires one window after the key's last
accepted request, so keys that stopped sending cost nothing.

Policy when Redis cannot answer: fail open. The limit protects the API from abuse; refusing
every customer because the limiter's store is down would make it the outage. A request then
goes through unlimited, and for a quarter of a second the limiter does not try Redis again (each
try would add its timeout to every request).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass

import redis

log = logging.getLogger("limiter")

# KEYS[1]: the key's log; ARGV: window in ms, limit, a unique member for this request.
# Returns {1, 0} when accepted, {0, ms until the oldest accepted request leaves the window}.
SLIDING_WINDOW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now_ms}
"""

# How long Redis may take before a request goes on without it, and how long the limiter then
# leaves Redis alone: a request must never wait long on a dead store, and a busy one (a few ms
# here; hundreds of ms on a starved 2-core laptop) must not count as dead. The back-off is short:
# every moment of it is a moment without a limit.
REDIS_TIMEOUT = 1.0
BACKOFF_SECONDS = 0.25


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # whole seconds until the key may send again (HTTP Retry-After)


class Limiter:
    def __init__(self, limit: int, window: int, redis_url: str) -> None:
        self.limit = limit
        self.window = window
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)
        self._script = self._redis.register_script(SLIDING_WINDOW)
        self._lock = threading.Lock()
        self._skip_until = 0.0

    @classmethod
    def from_env(cls) -> Limiter:
        return cls(int(os.environ["RATE_LIMIT"]), int(os.environ["RATE_WINDOW_SECONDS"]), os.environ["REDIS_URL"])

    def hit(self, key: str) -> Decision:
        if time.monotonic() < self._skip_until:
            return self._without_store()
        try:
            allowed, wait_ms = self._script(keys=[f"ratelimit:{key}"], args=[self.window * 1000, self.limit, uuid.uuid4().hex])
        except (redis.RedisError, OSError) as exc:
            with self._lock:
                if time.monotonic() >= self._skip_until:
                    log.warning("rate limit store unavailable, failing open for %.2f s: %s", BACKOFF_SECONDS, exc)
                self._skip_until = time.monotonic() + BACKOFF_SECONDS
            return self._without_store()
        if allowed:
            return Decision(True)
        return Decision(False, max(1, math.ceil(int(wait_ms) / 1000)))

    def _without_store(self) -> Decision:
        return Decision(True)  # fail open: the policy (see the top of this file)
