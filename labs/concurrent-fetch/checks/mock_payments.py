"""The grader's mock payments API (runs in a sandbox service container): Stripe-style list
endpoints with cursor pagination, slow responses, and scripted 429s, 5xx and 4xx per API key.

Grader-only paths: GET /__grader/dataset (every resource's objects, the expected result) and
GET /__grader/log (every request with server-side timestamps and the peak number in flight).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PAGE_SIZE = 10  # the most one page holds, whatever `limit` asks for
MAX_LIMIT = 100  # `limit` outside 1..MAX_LIMIT is a 400, as in Stripe's API
HANG = 2.0  # seconds a "hang" answer takes: longer than the timeout the grader passes
LATENCY = 0.3  # every successful page is slow: concurrency shows in the total time
COUNTS = {"customers": 25, "charges": 25, "refunds": 12, "payouts": 8, "disputes": 0, "balance_transactions": 30, "events": 0}
PREFIX = {"customers": "cus", "charges": "ch", "refunds": "re", "payouts": "po", "disputes": "dp", "balance_transactions": "txn", "events": "evt"}

# (api key, resource, cursor) -> the failures answered before the page succeeds, in order.
# A cursor of "" is the first page. "always" fails every attempt. A status of 0 is a hang:
# no answer for HANG seconds (the client times out first).
PLAN: dict[tuple[str, str, str], list[tuple[int, dict[str, str]]] | str] = {
    ("sk_test_main", "charges", "ch_0010"): [(429, {"Retry-After": "1"})],
    ("sk_test_main", "charges", "ch_0020"): [(503, {})],
    ("sk_test_main", "refunds", ""): [(503, {}), (503, {})],
    ("sk_test_main", "payouts", ""): [(500, {}), (502, {})],
    ("sk_test_main", "customers", "cus_0020"): [(504, {})],
    ("sk_test_exhaust", "balance_transactions", ""): "always",
    # three retries per page, uncapped (max_delay 8): where the backoff's upper bound shows;
    # every 5xx is transient, not only the three the API section names
    ("sk_test_backoff", "customers", ""): [(503, {}), (504, {}), (500, {})],
    ("sk_test_backoff", "charges", ""): [(501, {}), (502, {}), (507, {})],
    ("sk_test_backoff", "refunds", ""): [(500, {}), (599, {}), (503, {})],
    ("sk_test_backoff", "payouts", ""): [(504, {}), (503, {}), (502, {})],
    # five retries under max_delay 0.3: where the cap shows
    ("sk_test_cap", "balance_transactions", ""): [(503, {})] * 5,
    # a 503, then no answer: the last attempt's status is None
    ("sk_test_timeout", "payouts", ""): [(503, {}), (0, {}), (0, {})],
}
KNOWN_KEYS = {"sk_test_main", "sk_test_exhaust", "sk_test_4xx", "sk_test_backoff", "sk_test_cap", "sk_test_timeout"}
# 200 answers that are not a list page at all
NOT_A_PAGE: dict[str, object] = {
    "events": b"<html><body>502 Bad Gateway (from a misconfigured proxy)</body></html>",  # not JSON
    "invoices": {"object": "invoice", "id": "in_0001", "amount_due": 1250},  # JSON, one object instead of a list
    "plans": [{"id": "plan_0001", "object": "plan"}],  # JSON, a bare array
}


def dataset() -> dict[str, list[dict[str, object]]]:
    data: dict[str, list[dict[str, object]]] = {}
    for resource, count in COUNTS.items():
        prefix = PREFIX[resource]
        data[resource] = [
            {"id": f"{prefix}_{n:04d}", "object": resource.rstrip("s"), "amount": 100 * n + 7, "currency": ("usd", "eur", "gbp")[n % 3]}
            for n in range(1, count + 1)
        ]
    return data


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data = dataset()
        self.attempts: dict[tuple[str, str, str], int] = {}
        self.log: list[dict[str, object]] = []
        self.in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}


STATE = State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        started = self.sent = time.monotonic()
        url = urlsplit(self.path)
        if url.path == "/__grader/dataset":
            return self._send(200, STATE.data)
        if url.path == "/__grader/log":
            settled = time.monotonic() + HANG + 1  # a hung answer is logged when it ends: wait for it, bounded
            while time.monotonic() < settled and any(STATE.in_flight.values()):
                time.sleep(0.05)
            with STATE.lock:
                return self._send(200, {"requests": STATE.log, "peak_in_flight": STATE.peak})
        key = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        with STATE.lock:
            STATE.in_flight[key] = STATE.in_flight.get(key, 0) + 1
            STATE.peak[key] = max(STATE.peak.get(key, 0), STATE.in_flight[key])
        status = 0
        try:
            status, headers, body = self._answer(key, url.path, parse_qs(url.query))
            self._send(status, body, headers)
        finally:
            with STATE.lock:
                STATE.in_flight[key] -= 1
                STATE.log.append({
                    "key": key, "path": url.path, "query": url.query, "status": status,
                    "start": started, "end": self.sent,
                })

    def _answer(self, key: str, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], object]:
        if key not in KNOWN_KEYS:
            return 401, {}, _error("authentication_error", "Invalid API Key provided")
        resource = path.removeprefix("/v1/")
        if path.startswith("/v1/") and resource in NOT_A_PAGE:
            return 200, {}, NOT_A_PAGE[resource]
        if not path.startswith("/v1/") or resource not in STATE.data:
            return 404, {}, _error("invalid_request_error", f"Unrecognized request URL (GET: {path})")
        limit = query.get("limit", [str(PAGE_SIZE)])[0]
        if not (limit.isdigit() and 1 <= int(limit) <= MAX_LIMIT):
            return 400, {}, _error("invalid_request_error", f"Invalid limit: must be an integer from 1 to {MAX_LIMIT}, got {limit!r}")
        cursor = query.get("starting_after", [""])[0]
        plan = PLAN.get((key, resource, cursor), [])
        with STATE.lock:
            attempt = STATE.attempts.get((key, resource, cursor), 0)
            STATE.attempts[(key, resource, cursor)] = attempt + 1
        if plan == "always":
            return 503, {}, _error("api_error", "Service temporarily unavailable")
        if attempt < len(plan):
            status, headers = plan[attempt]
            if status == 0:
                time.sleep(HANG)
                return 503, {}, _error("api_error", "answered after the client's timeout")
            kind = "rate_limit_error" if status == 429 else "api_error"
            return status, headers, _error(kind, f"scripted failure {attempt + 1} of {len(plan)}")
        objects = STATE.data[resource]
        start = next((i + 1 for i, item in enumerate(objects) if item["id"] == cursor), 0) if cursor else 0
        if cursor and start == 0:
            return 400, {}, _error("invalid_request_error", f"No such object: {cursor}")
        page = objects[start:start + PAGE_SIZE]
        time.sleep(LATENCY)
        return 200, {}, {"object": "list", "url": path, "data": page, "has_more": start + PAGE_SIZE < len(objects)}

    def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        raw = isinstance(body, bytes)  # a malformed answer, sent as is
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if raw else "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        # stamped before the headers leave, not the body: a client acts on a 429's Retry-After as
        # soon as the headers arrive (urllib raises without reading the body), so only a stamp
        # taken before end_headers() flushes them keeps a retry's gap from here no shorter than
        # the client's real wait
        self.sent = time.monotonic()
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()


def _error(kind: str, message: str) -> dict[str, object]:
    return {"error": {"type": kind, "message": message}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8080)
    port = parser.parse_args().port
    Server(("0.0.0.0", port), Handler).serve_forever()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # every graded call starts at once: a backlog of 5 (the default) drops connections, and a
    # dropped SYN is retried only after 1 s, longer than the 0.5 s timeout one call uses
    request_queue_size = 128


if __name__ == "__main__":
    main()
