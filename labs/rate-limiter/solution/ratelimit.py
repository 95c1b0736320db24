"""Per-API-key rate limiting as WSGI middleware: a rolling window kept as a log of admission times."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RateLimitMiddleware:
    """Admits at most `limit` requests per API key in any rolling `window` seconds."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        header: str = "X-API-Key",
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.app = app
        self.limit = limit
        self.window = window
        self.clock = clock
        self.environ_key = "HTTP_" + header.upper().replace("-", "_")
        self._admitted: dict[str, deque[float]] = {}
        # one lock for the whole table: the critical section is a few deque operations, so
        # per-key locks would buy little and cost a second map to keep consistent
        self._lock = threading.Lock()
        self._next_sweep = clock() + window

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        key = str(environ.get(self.environ_key, "")).strip()
        if not key:
            return _json(start_response, "401 Unauthorized", {"error": "missing API key"})
        wait = self._admit(key)
        if wait is not None:
            return _json(start_response, "429 Too Many Requests", {"error": "rate limit exceeded"}, [("Retry-After", str(wait))])
        return self.app(environ, start_response)

    def _admit(self, key: str) -> int | None:
        """Record and admit the request (None), or return the whole seconds until a slot frees."""
        with self._lock:
            # read the clock under the lock, so admission times are recorded in order
            now = self.clock()
            horizon = now - self.window
            self._sweep(now, horizon)
            times = self._admitted.setdefault(key, deque())
            while times and times[0] <= horizon:  # at exactly t0 + window, t0 no longer counts
                times.popleft()
            if len(times) < self.limit:
                times.append(now)
                return None
            return max(1, math.ceil(times[0] + self.window - now))

    def _sweep(self, now: float, horizon: float) -> None:
        """Once per window, forget keys whose newest admission expired: memory tracks active keys only."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.window
        for key in [key for key, times in self._admitted.items() if not times or times[-1] <= horizon]:
            del self._admitted[key]


def _json(start_response: Callable[..., Any], status: str, body: dict[str, str], headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), *(headers or [])])
    return [payload]
