"""payments-api edge replica: authenticates the API key, applies the rate limit, answers.

WSGI app run by gunicorn (one process, threads). The limit itself lives in limiter.py; this
file only turns its decision into HTTP: 200, or 429 with Retry-After.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable

from limiter import Limiter

REPLICA = os.environ.get("REPLICA_ID", "api")
limiter = Limiter.from_env()

StartResponse = Callable[[str, list[tuple[str, str]]], object]


def _reply(start_response: StartResponse, status: str, body: dict[str, object], extra: list[tuple[str, str]] | None = None) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data))), ("X-Served-By", REPLICA)]
    start_response(status, headers + (extra or []))
    return [data]


def _api_key(environ: dict[str, object]) -> str | None:
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    scheme, _, key = auth.partition(" ")
    return key if scheme == "Bearer" and key.startswith("sk_") and len(key) <= 128 else None


def app(environ: dict[str, object], start_response: StartResponse) -> Iterable[bytes]:
    path = str(environ.get("PATH_INFO", ""))
    if path == "/healthz":
        return _reply(start_response, "200 OK", {"status": "ok", "replica": REPLICA})
    if path != "/v1/balance":
        return _reply(start_response, "404 Not Found", {"error": {"type": "invalid_request_error", "message": f"no such route {path}"}})
    key = _api_key(environ)
    if key is None:
        return _reply(start_response, "401 Unauthorized", {"error": {"type": "authentication_error", "message": "send Authorization: Bearer sk_..."}})
    decision = limiter.hit(key)
    if not decision.allowed:
        return _reply(
            start_response,
            "429 Too Many Requests",
            {"error": {"type": "rate_limit_error", "message": f"more than {limiter.limit} requests in {limiter.window} s for this key"}},
            [("Retry-After", str(decision.retry_after))],
        )
    return _reply(start_response, "200 OK", {"object": "balance", "available": [{"amount": 125000, "currency": "usd"}], "livemode": False, "served_by": REPLICA})
