"""storefront: the customers' traffic to the pricing service, at a steady rate for a bounded time.

Most lookups are for popular (customer, sku) pairs, the rest a long tail of customers seen
once -- the shape of real storefront traffic. Every 10 s it logs what customers saw.
"""

from __future__ import annotations

import http.client
import os
import time
from collections import Counter

TARGET = os.environ.get("PRICING_HOST", "pricing")
RATE = float(os.environ.get("RATE", "50"))  # requests per second
DURATION = float(os.environ.get("DURATION", "3600"))  # seconds; the traffic stops after this
HOT_PAIRS = 64
HOT_SHARE = 0.7


def path(index: int) -> str:
    if index % 10 < HOT_SHARE * 10:
        pair = index % HOT_PAIRS
        return f"/v1/quote?customer=c-{pair:05d}&sku=SKU-{pair % 16:04d}&qty={1 + index % 5}"
    return f"/v1/quote?customer=t-{os.getpid()}-{index}&sku=SKU-{index % 997:04d}&qty=1"


def main() -> None:
    seen: Counter[str] = Counter()
    connection: http.client.HTTPConnection | None = None
    started = last_report = time.monotonic()
    index = 0
    while time.monotonic() - started < DURATION:
        try:
            connection = connection or http.client.HTTPConnection(TARGET, 8000, timeout=2)
            connection.request("GET", path(index))
            reply = connection.getresponse()
            reply.read()
            seen[str(reply.status)] += 1
        except (OSError, http.client.HTTPException) as exc:
            seen[type(exc).__name__] += 1
            connection = None
        index += 1
        now = time.monotonic()
        if now - last_report >= 10:
            print(f"storefront: last 10s: {dict(seen)}", flush=True)
            seen.clear()
            last_report = now
        time.sleep(max(0.0, started + index / RATE - time.monotonic()))


if __name__ == "__main__":
    main()
