"""pricing: customer-specific price quotes for the storefront.

GET /v1/quote?customer=<id>&sku=<sku>&qty=<n>  -> the quote, with X-Cache: HIT or MISS
GET /stats                                      -> cache statistics
GET /healthz                                    -> ok

A quote evaluates the customer's contract rules for the SKU (the expensive part), so quotes
are cached per (customer, sku). SIGHUP reloads the code (a re-exec, as a deploy does).
SIGUSR1 is the memory debug switch: the first starts tracemalloc, each later one prints the
top allocation sites since then to stdout (`docker logs`).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tracemalloc
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from quote_cache import QuoteCache

RELEASE = os.environ.get("RELEASE", "dev")
CACHE = QuoteCache(max_entries=int(os.environ.get("QUOTE_CACHE_ENTRIES", "128")), ttl=float(os.environ.get("QUOTE_TTL_SECONDS", "300")))
CONTRACT_RULES = 480  # rules evaluated (and kept for the audit trail) per quote


def list_price_cents(sku: str) -> int:
    return 500 + zlib.crc32(sku.encode()) % 20000


def discount_percent(customer: str) -> int:
    return 5 * (zlib.crc32(customer.encode()) % 4)


def compute_quote(customer: str, sku: str) -> dict:
    """Evaluate every contract rule; the winning rule sets the unit price."""
    base = list_price_cents(sku)
    audit = [
        {"rule": f"{customer}/{sku}/r{index:03d}", "kind": ("volume", "segment", "promo")[index % 3],
         "evaluated": base - index, "applies": index == 0}
        for index in range(CONTRACT_RULES)
    ]
    return {"customer": customer, "sku": sku, "unit_cents": base * (100 - discount_percent(customer)) // 100, "audit": audit}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the storefront reuses its connections
    disable_nagle_algorithm = True  # headers and body go out in two writes: don't wait 40 ms for an ACK

    def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/healthz":
            return self._send(200, {"status": "ok", "release": RELEASE})
        if url.path == "/stats":
            return self._send(200, {"release": RELEASE, "pid": os.getpid(), **CACHE.stats()})
        if url.path != "/v1/quote":
            return self._send(404, {"error": "not found"})
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        try:
            customer, sku, qty = query["customer"], query["sku"], int(query.get("qty", "1"))
        except (KeyError, ValueError):
            return self._send(400, {"error": "customer, sku and an integer qty are required"})
        quote, hit = CACHE.get_or_compute((customer, sku), lambda: compute_quote(customer, sku))
        body = {"customer": customer, "sku": sku, "qty": qty, "currency": "EUR",
                "unit_cents": quote["unit_cents"], "total_cents": quote["unit_cents"] * qty, "release": RELEASE}
        self._send(200, body, {"X-Cache": "HIT" if hit else "MISS"})

    def log_message(self, format: str, *args: object) -> None:
        pass  # the storefront sends hundreds of requests a second: no access log


def reload(_signum: int, _frame: object) -> None:
    os.execv(sys.executable, [sys.executable, *sys.argv])


def memory_report(_signum: int, _frame: object) -> None:
    if not tracemalloc.is_tracing():
        tracemalloc.start(4)  # few frames: tracing costs memory in a 128 MiB container too
        print("tracemalloc started: send SIGUSR1 again for the top allocation sites", flush=True)
        return
    print(f"tracemalloc: traced {tracemalloc.get_traced_memory()[0] / 2**20:.1f} MiB; top allocation sites:", flush=True)
    for stat in tracemalloc.take_snapshot().statistics("traceback")[:5]:
        print(f"  {stat.size / 2**20:.1f} MiB in {stat.count} blocks", flush=True)
        for line in stat.traceback.format(limit=4):
            print(f"    {line}", flush=True)


def main() -> None:
    signal.signal(signal.SIGHUP, reload)
    signal.signal(signal.SIGUSR1, memory_report)
    with open("/tmp/pricing.pid", "w") as pidfile:
        pidfile.write(str(os.getpid()))
    server = ThreadingHTTPServer(("0.0.0.0", 8000), Handler)
    server.daemon_threads = True
    print(f"pricing {RELEASE} listening on :8000 (quote cache: {CACHE.max_entries} entries)", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
