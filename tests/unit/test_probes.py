"""The HTTP load probe against a real local server: histogram, bounds, loopback-only."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import probes
from harness.errors import BreakfixError


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 -- the stdlib's name
        if self.path.startswith("/slow"):
            time.sleep(2)
        status = 502 if self.path.startswith("/bad") else 200
        body = self.path.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that time out on /slow hang up mid-reply: expected here


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_histogram_and_bodies(server: str) -> None:
    result = probes.http_load(server, ["/ok", "/bad", "/ok"], total=90, concurrency=5)
    assert result.statuses == {200: 60, 502: 30}
    assert result.histogram() == "60x200, 30x502"
    assert len(result.server_errors()) == 30
    assert {response.body for response in result.responses} == {b"/ok", b"/bad"}


def test_idle_gaps_still_complete(server: str) -> None:
    result = probes.http_load(server, ["/ok"], total=40, concurrency=4, idle_every=5, idle_seconds=0.05)
    assert result.statuses == {200: 40} and not result.stopped_early


def test_stops_after_max_failures(server: str) -> None:
    result = probes.http_load(server, ["/bad"], total=1000, concurrency=2, max_failures=10)
    assert result.stopped_early == "10 failures" or result.stopped_early.startswith("1")
    assert len(result.responses) < 20


def test_timeouts_are_failures_and_bounded(server: str) -> None:
    started = time.monotonic()
    result = probes.http_load(server, ["/slow"], total=50, concurrency=5, timeout=0.3, deadline=1.0)
    assert time.monotonic() - started < 6
    assert result.statuses[0] >= 5 and result.errors.most_common(1)[0][0] in ("TimeoutError", "timeout")
    assert result.stopped_early


@pytest.mark.parametrize("url", ["http://10.0.0.1:80", "http://example.com", "https://127.0.0.1:443", "http://localhost:80"])
def test_refuses_anything_but_loopback(url: str) -> None:
    with pytest.raises(BreakfixError, match="127.0.0.1 only"):
        probes.http_load(url, ["/"], total=1)


def test_slope_and_sample() -> None:
    assert probes.slope([(0, 10), (1, 12), (2, 14)]) == pytest.approx(2)
    values = iter(range(100))
    series = probes.sample(lambda: float(next(values)), count=3, interval=0)
    assert [value for _, value in series] == [0, 1, 2]


def test_a_run_queue_busier_than_the_bar_while_measuring_is_oversubscribed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probes.os, "cpu_count", lambda: 2)
    with probes.RunQueue(every=0.01) as queue:
        time.sleep(0.1)
    assert queue.samples and all(sample >= 1 for sample in queue.samples)  # this process itself runs
    monkeypatch.setattr(probes.os, "getloadavg", lambda: (0.5, 0.0, 0.0))  # lagging behind a burst
    queue.samples[:] = [9, 10, 8]
    assert probes.oversubscribed(4, during=queue) and not probes.oversubscribed(4)
    monkeypatch.setattr(probes.os, "getloadavg", lambda: (12.0, 0.0, 0.0))  # a burst that is over
    queue.samples[:] = [3, 9, 2]
    assert not probes.oversubscribed(4, during=queue) and probes.oversubscribed(4)
    queue.samples.clear()  # no /proc/stat: the load average decides
    assert probes.oversubscribed(4, during=queue)
