"""The grader's test server (runs in the sandbox): a tiny API wrapped in the learner's middleware.

Paths under /__grader/ bypass the middleware: POST /__grader/clock {"now": t} sets the clock the
middleware reads; GET /__grader/hits returns how many requests per key reached the API.
"""

from __future__ import annotations

import argparse
import json
import socketserver
import threading
from collections import Counter
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class Clock:
    """The middleware's clock: only the grader moves it, so window edges are tested exactly."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of concurrent clients must queue, not be refused


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def build(limit: int, window: float):  # type: ignore[no-untyped-def]
    from ratelimit import RateLimitMiddleware  # the learner's module, from /work

    clock = Clock()
    hits: Counter[str] = Counter()
    lock = threading.Lock()

    def api(environ, start_response):  # type: ignore[no-untyped-def]
        key = environ.get("HTTP_X_API_KEY", "").strip()
        with lock:
            hits[key] += 1
        body = json.dumps({"object": "charge_list", "key": key, "path": environ.get("PATH_INFO", "")}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    limited = RateLimitMiddleware(api, limit=limit, window=window, clock=clock)

    def control(environ, start_response):  # type: ignore[no-untyped-def]
        path = environ.get("PATH_INFO", "")
        if path == "/__grader/clock" and environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            clock.now = float(json.loads(environ["wsgi.input"].read(length))["now"])
        with lock:
            body = json.dumps({"now": clock.now, "hits": dict(hits)}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    def dispatch(environ, start_response):  # type: ignore[no-untyped-def]
        if environ.get("PATH_INFO", "").startswith("/__grader/"):
            return control(environ, start_response)
        return limited(environ, start_response)

    return dispatch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--window", type=float, default=60.0)
    args = parser.parse_args()
    server = make_server("0.0.0.0", args.port, build(args.limit, args.window), server_class=ThreadingServer, handler_class=QuietHandler)
    server.serve_forever()


if __name__ == "__main__":
    main()
