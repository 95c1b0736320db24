"""HTTP status mix per second through the entry point: a few sequential GETs each second, counted by status."""

from __future__ import annotations

import http.client
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from harness.loopback import HOST, loopback_port
from harness.manifest import ScenarioManifest, SignalSpec
from harness.ui.signals.base import Target, register

RATE = 4  # requests per second: a learner's browser tab, not a load test; the checks' own loads are 100x this
TIMEOUT = 0.8  # a hung request is a point of its own ("no response"), and never stretches a one-second bucket much


class HttpStatus:
    kind = "http-status"
    interval = 1.0

    def __init__(self, url: str, paths: list[str], rate: int = RATE, timeout: float = TIMEOUT) -> None:
        self.port = loopback_port(url)  # the probes' rule: traffic to 127.0.0.1 only
        self.prefix = urlsplit(url).path.rstrip("/")
        self.paths = paths
        self.rate = rate
        self.timeout = timeout
        self.turn = 0
        self.connection: http.client.HTTPConnection | None = None

    def _get(self, path: str) -> int:
        try:
            self.connection = self.connection or http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            self.connection.request("GET", self.prefix + path)
            reply = self.connection.getresponse()
            reply.read()
            if reply.will_close:
                self.close()
            return reply.status
        except (OSError, http.client.HTTPException):
            self.close()
            return 0

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def sample(self) -> dict[str, Any]:
        """One second's requests, spread over the second, at most `rate` of them and never past it."""
        started = time.monotonic()
        statuses: Counter[int] = Counter()
        for index in range(self.rate):
            statuses[self._get(self.paths[self.turn % len(self.paths)])] += 1
            self.turn += 1
            pause = started + (index + 1) / self.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            if time.monotonic() - started >= self.interval:
                break
        return summarize(statuses)


def summarize(statuses: Counter[int]) -> dict[str, Any]:
    """Counts by status (0: no response) and each failure's share, the numbers the page draws."""
    total = sum(statuses.values())
    errors = sum(count for status, count in statuses.items() if status == 0 or status >= 500)
    return {"total": total, "statuses": {str(status): count for status, count in sorted(statuses.items())},
            "share_5xx": errors / total if total else 0.0, "share_502": statuses[502] / total if total else 0.0}


@register("http-status")
def build(spec: SignalSpec, target: Target) -> HttpStatus:
    manifest = target.entry.manifest
    if not isinstance(manifest, ScenarioManifest) or manifest.entrypoint is None:
        raise ValueError(f"{target.entry.id}: the http-status signal needs an entrypoint in the manifest")
    return HttpStatus(manifest.entrypoint.url, list(spec.paths))
