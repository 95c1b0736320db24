"""What the `breakfix ui` benchmarks share: the server started as a user starts it, and timed GETs against it."""

from __future__ import annotations

import http.client
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from harness.ui.server import launch


@dataclass
class Page:
    process: subprocess.Popen[str]
    port: int
    token: str

    def get(self, path: str) -> tuple[int, bytes, float]:
        """(status, body, seconds) of one GET on a fresh connection, as a browser's first request is."""
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request("GET", path, headers={"x-breakfix-token": self.token})
            reply = connection.getresponse()
            body = reply.read()
        finally:
            connection.close()
        return reply.status, body, time.perf_counter() - started


@contextmanager
def ui_server() -> Iterator[Page]:
    process, url = launch()
    try:
        address, token = url.removeprefix("http://").split("/?token=")
        yield Page(process, int(address.split(":")[1]), token)
    finally:
        process.terminate()
        process.wait(15)


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}s" if values else "not measured"
