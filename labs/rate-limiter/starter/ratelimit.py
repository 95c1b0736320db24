"""Per-API-key rate limiting as WSGI middleware. See README.md for the exact rules."""

from __future__ import annotations

import time
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
        self.app = app
        self.limit = limit
        self.window = window
        self.clock = clock
        self.header = header

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # TODO: identify the key, decide admit / 401 / 429 (with Retry-After), stay exact under threads.
        return self.app(environ, start_response)
