"""One bounded probe of the pricing service, shared by every check.

Numbers (measured on 2 cores: the service answers 300-1,700 requests/s depending on what
else runs, a cached quote weighs about 135 KiB, the healthy process about 50 MiB with a full
cache of 128 quotes):

- warm-up: 600 requests (180 customers seen once), enough to fill a 128-entry cache;
- measured: 3,000 requests from 8 keep-alive clients (2-10 s), 70% popular
  (customer, sku) pairs and 30% customers seen once -- the storefront's shape;
- memory: the summed RSS of the container's processes, sampled about every 0.25 s meanwhile,
  against the number of requests answered so far -- so the trend is per request and does not
  depend on how fast the machine is.

A leaking cache keeps about 900 new quotes from the measured phase (about 120 MiB, some
40 KiB per request): far above every bound -- with the 128 MiB limit it is OOM-killed during
the probe -- while a bounded cache stays flat within a few MiB.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from dataclasses import dataclass, field

import pytest
from docker.errors import APIError

from harness.checks import BreakfixError, LoadResult

SERVICE = "pricing"
WARMUP = 600
MEASURED = 3_000
STEPS = 8  # the measured load runs in 8 rounds of 375 requests, memory sampled before and after each
CONCURRENCY = 8
HOT_PAIRS = 64


def quote_paths(run: str, count: int) -> list[str]:
    """7 in 10 requests for 64 popular (customer, sku) pairs, the rest for a customer seen once."""
    paths = []
    for index in range(count):
        if index % 10 < 7:
            pair = index % HOT_PAIRS
            paths.append(f"/v1/quote?customer=c-{pair:05d}&sku=SKU-{pair % 16:04d}&qty={1 + index % 5}")
        else:
            paths.append(f"/v1/quote?customer=p-{run}-{index}&sku=SKU-{index % 997:04d}&qty=1")
    return paths


@dataclass
class Probe:
    before: dict
    after: dict = field(default_factory=dict)
    load: LoadResult = field(default_factory=lambda: LoadResult(planned=MEASURED))
    memory: list[tuple[float, float]] = field(default_factory=list)  # (requests answered so far, MiB)
    cache_before: dict | None = None  # pricing's /stats around the measured load (None: not served)
    cache_after: dict | None = None

    @property
    def restarts(self) -> int:
        return self.after["RestartCount"] - self.before["RestartCount"]

    @property
    def restarted(self) -> bool:
        return self.restarts > 0 or self.after["State"]["StartedAt"] != self.before["State"]["StartedAt"]


def rss_mib(instance) -> float | None:
    """Summed RSS of every process in the container, or None while it is down or restarting."""
    try:
        code, output = instance.exec(SERVICE, ["sh", "-c", "ps -eo rss= | awk '{s+=$1} END {print s}'"])
    except (APIError, BreakfixError):  # the container is between an OOM kill and its restart
        return None
    return int(output.strip()) / 1024 if code == 0 and output.strip().isdigit() else None


def cache_stats(url: str) -> dict | None:
    """pricing's own /stats (entries, max_entries), or None when it does not serve them (a rewrite)."""
    try:
        with urllib.request.urlopen(f"{url}/stats", timeout=3) as response:
            stats = json.load(response)
    except (OSError, ValueError):
        return None
    return stats if isinstance(stats, dict) and isinstance(stats.get("entries"), int) else None


@pytest.fixture(scope="session")
def probe(instance, inspect, http_load) -> Probe:
    run = uuid.uuid4().hex[:8]
    http_load(instance.entrypoint_url, quote_paths(run + "w", WARMUP), total=WARMUP, concurrency=CONCURRENCY, timeout=3.0, deadline=15.0)
    result = Probe(before=inspect(SERVICE), cache_before=cache_stats(instance.entrypoint_url))
    paths = quote_paths(run, MEASURED)
    size = MEASURED // STEPS
    for step in range(STEPS):
        value = rss_mib(instance)
        if value is not None:
            result.memory.append((len(result.load.responses), value))
        part = http_load(instance.entrypoint_url, paths[step * size:(step + 1) * size], total=size, concurrency=CONCURRENCY, timeout=3.0, deadline=10.0)
        result.load.responses.extend(part.responses)
        if part.stopped_early:
            result.load.stopped_early = part.stopped_early
    value = rss_mib(instance)
    if value is not None:
        result.memory.append((len(result.load.responses), value))
    result.cache_after = cache_stats(instance.entrypoint_url)
    result.after = inspect(SERVICE)
    return result
