"""Black-box probes the checks share: bounded HTTP load with a status histogram, memory sampling.

Every loop here is bounded in request count AND wall time, and refuses any target that is not
127.0.0.1: a probe must never send traffic beyond the machine.
"""

from __future__ import annotations

import http.client
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from harness.errors import BreakfixError
from harness.loopback import HOST, loopback_port


@dataclass(frozen=True)
class Response:
    path: str
    status: int  # 0 when no HTTP response came back (see error)
    headers: dict[str, str]
    body: bytes
    seconds: float
    error: str = ""
    sent_at: float = 0.0  # time.monotonic() when the request was sent: when a failure happened


@dataclass
class LoadResult:
    """What a load run saw. `responses` keeps every response so checks can assert on content."""

    responses: list[Response] = field(default_factory=list)
    planned: int = 0
    stopped_early: str = ""

    @property
    def statuses(self) -> Counter[int]:
        return Counter(response.status for response in self.responses)

    @property
    def errors(self) -> Counter[str]:
        return Counter(response.error for response in self.responses if response.error)

    def server_errors(self) -> list[Response]:
        return [response for response in self.responses if response.status >= 500 or response.status == 0]

    def percentile(self, fraction: float) -> float:
        times = sorted(response.seconds for response in self.responses)
        if not times:
            return 0.0
        return times[min(len(times) - 1, int(fraction * len(times)))]

    def histogram(self) -> str:
        """e.g. '1334x200, 666x502' -- the line a learner reads first."""
        parts = [f"{count}x{status or 'no-response'}" for status, count in sorted(self.statuses.items())]
        text = ", ".join(parts) or "no responses"
        if self.stopped_early:
            text += f" (stopped early: {self.stopped_early})"
        return text


def oversubscribed(per_core: float = 4, *, during: RunQueue | None = None) -> bool:
    """More runnable processes per core than `per_core`: a latency measured then measures the
    scheduler as much as the system under test. By the 1-minute load average, or, given `during`,
    by the run queue sampled while the measurement ran: the average lags a minute behind a burst of
    other work (a test suite starting beside the check) and stays high a minute after it."""
    bar = per_core * (os.cpu_count() or 1)
    if during is not None and during.samples:
        return during.mean() > bar
    return os.getloadavg()[0] > bar


class RunQueue:
    """The host's runnable tasks (`procs_running` in /proc/stat), sampled every 0.1 s while in a
    `with` block; no samples where /proc/stat cannot be read."""

    def __init__(self, every: float = 0.1) -> None:
        self.every = every
        self.samples: list[int] = []
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> RunQueue:
        self._sampler.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._sampler.join()

    def mean(self) -> float:
        return statistics.fmean(self.samples) if self.samples else 0.0

    def _sample(self) -> None:
        while not self._done.is_set():
            try:
                with open("/proc/stat", encoding="ascii") as stat:
                    running = next((line.split()[1] for line in stat if line.startswith("procs_running ")), None)
            except OSError:
                return
            if running is not None:
                self.samples.append(int(running))
            self._done.wait(self.every)


def _loopback(url: str) -> tuple[str, int]:
    try:
        port = loopback_port(url)  # the manifest's entrypoint rule too
    except ValueError as exc:
        raise BreakfixError(f"probe target {url!r} refused: probes send traffic to http://127.0.0.1 only ({exc})") from None
    return HOST, port


def http_load(
    base_url: str,
    paths: Sequence[str],
    *,
    total: int = 2000,
    concurrency: int = 20,
    timeout: float = 3.0,
    deadline: float = 30.0,
    idle_every: int = 0,
    idle_seconds: float = 0.0,
    max_failures: int | None = None,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """Send `total` GETs cycling through `paths` from `concurrency` keep-alive clients.

    Each client pauses `idle_seconds` after every `idle_every` of its requests (the clients at
    staggered points): idle gaps are what expose keep-alive mismatches between a proxy and its
    upstreams. The run stops at
    `deadline` seconds or after `max_failures` failed requests, whichever comes first.
    """
    host, port = _loopback(base_url)
    prefix = urlsplit(base_url).path.rstrip("/")
    result = LoadResult(planned=total)
    lock = threading.Lock()
    counter = iter(range(total))
    stop = threading.Event()
    started = time.monotonic()
    failures = 0

    def next_index() -> int | None:
        with lock:
            return None if stop.is_set() else next(counter, None)

    def record(response: Response) -> None:
        nonlocal failures
        with lock:
            result.responses.append(response)
            if response.status == 0 or response.status >= 500:
                failures += 1
                if max_failures is not None and failures >= max_failures and not stop.is_set():
                    result.stopped_early = f"{failures} failures"
                    stop.set()
            if time.monotonic() - started > deadline and not stop.is_set():
                result.stopped_early = f"deadline {deadline:.0f}s"
                stop.set()

    def client(number: int) -> None:
        connection: http.client.HTTPConnection | None = None
        # clients idle at staggered points, so the target never sits idle while they all pause
        offset = number * idle_every // concurrency if idle_every else 0
        sent = 0
        while (index := next_index()) is not None:
            if idle_every and sent and (sent + offset) % idle_every == 0:
                stop.wait(idle_seconds)  # idle before the next request, never after the last one
            path = prefix + paths[index % len(paths)]
            begin = time.monotonic()
            try:
                connection = connection or http.client.HTTPConnection(host, port, timeout=timeout)
                connection.request("GET", path, headers=headers or {})
                reply = connection.getresponse()
                body = reply.read()
                record(Response(path, reply.status, {k.lower(): v for k, v in reply.getheaders()}, body, time.monotonic() - begin, sent_at=begin))
                if reply.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as exc:
                record(Response(path, 0, {}, b"", time.monotonic() - begin, error=type(exc).__name__, sent_at=begin))
                if connection:
                    connection.close()
                connection = None
            sent += 1
        if connection:
            connection.close()

    threads = [threading.Thread(target=client, args=(number,), daemon=True) for number in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(deadline + timeout + 5)
    return result


def sample(read: Callable[[], float], *, count: int, interval: float) -> list[tuple[float, float]]:
    """(seconds since start, value) pairs: a bounded series for trend checks such as memory growth."""
    series = []
    started = time.monotonic()
    for _ in range(count):
        series.append((time.monotonic() - started, read()))
        time.sleep(interval)
    return series


def slope(series: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of value over time (units per second)."""
    if len(series) < 2:
        return 0.0
    return statistics.linear_regression([t for t, _ in series], [v for _, v in series]).slope
