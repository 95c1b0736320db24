"""WRONG on purpose (a fake the grader must reject): counts per fixed window, not a rolling one.

Around a window boundary a key gets up to 2 * limit requests within a few seconds.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any


class RateLimitMiddleware:
    def __init__(self, app: Any, *, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic, header: str = "X-API-Key") -> None:
        self.app, self.limit, self.window, self.clock = app, limit, window, clock
        self.environ_key = "HTTP_" + header.upper().replace("-", "_")
        self.counts: dict[tuple[str, int], int] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        key = str(environ.get(self.environ_key, "")).strip()
        if not key:
            start_response("401 Unauthorized", [("Content-Type", "application/json")])
            return [json.dumps({"error": "missing API key"}).encode()]
        with self.lock:
            now = self.clock()
            bucket = (key, int(now // self.window))
            count = self.counts.get(bucket, 0)
            if count < self.limit:
                self.counts[bucket] = count + 1
                admitted = True
            else:
                admitted = False
                wait = max(1, math.ceil((bucket[1] + 1) * self.window - now))
        if admitted:
            return self.app(environ, start_response)
        start_response("429 Too Many Requests", [("Content-Type", "application/json"), ("Retry-After", str(wait))])
        return [json.dumps({"error": "rate limit exceeded"}).encode()]
