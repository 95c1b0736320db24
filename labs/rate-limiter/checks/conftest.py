"""One test server per grading run: the grader's API behind the learner's middleware, in the sandbox."""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

LIMIT = 5
WINDOW = 60
PORT = 8000
REQUEST_TIMEOUT = 5.0
HUNG_AFTER = 3  # timed-out requests after which the server is taken as hung


@dataclass(frozen=True)
class Reply:
    status: int  # 0: no HTTP response (connection refused, reset, timed out)
    headers: dict[str, str]
    body: str

    def describe(self) -> str:
        if self.status == 0:
            return f"no response ({self.body})"
        extra = f", Retry-After {self.headers['retry-after']}" if "retry-after" in self.headers else ""
        return f"{self.status}{extra}: {self.body[:120]!r}"


class Api:
    """Talks to the test server on 127.0.0.1: API requests with a key, and the grader's clock."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.limit, self.window = LIMIT, WINDOW
        self.timeouts = 0
        self._keys = itertools.count(1)
        self._epochs = itertools.count(1)

    def new_key(self, label: str) -> str:
        return f"sk_test_{label}_{next(self._keys)}"

    def new_epoch(self) -> float:
        """A clock origin no earlier test reached; 37 s past a minute, so fixed windows straddle it."""
        return 60_000.0 * next(self._epochs) + 37.0

    def call(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> Reply:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, TimeoutError):
                self.timeouts += 1
            return Reply(0, {}, f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()

    def get(self, key: str | None, path: str = "/v1/charges") -> Reply:
        if self.timeouts >= HUNG_AFTER:  # a hung middleware fails the remaining checks at once, not 5 s per request
            return Reply(0, {}, f"not sent: {HUNG_AFTER} requests already timed out after {REQUEST_TIMEOUT:.0f} s (is the middleware stuck?)")
        return self.call("GET", path, {"X-API-Key": key} if key is not None else {})

    def set_clock(self, now: float) -> None:
        reply = self.call("POST", "/__grader/clock", {"Content-Type": "application/json"}, json.dumps({"now": now}).encode())
        assert reply.status == 200, f"the test server stopped answering (setting its clock got {reply.describe()})"

    def hits(self, key: str) -> int:
        reply = self.call("GET", "/__grader/hits")
        assert reply.status == 200, f"the test server stopped answering ({reply.describe()})"
        return int(json.loads(reply.body)["hits"].get(key, 0))

    def admit(self, key: str, count: int) -> None:
        """`count` requests that must all be admitted (the setup of a test), with a message if not."""
        for number in range(1, count + 1):
            reply = self.get(key)
            assert reply.status == 200, (
                f"with a limit of {self.limit} per {self.window} s, request {number} of a fresh key should be admitted (200), "
                f"got {reply.describe()}"
            )

    def admit_spread(self, key: str, start: float) -> None:
        """`limit` admitted requests 10 s apart from `start`: +0, +10, ... (+40 with limit 5)."""
        for offset in range(0, self.limit * 10, 10):
            self.set_clock(start + offset)
            self.admit(key, 1)

    def burst(self, keys: list[str], clients: int) -> list[tuple[str, Reply]]:
        """Send one request per entry of `keys` from `clients` threads released together."""
        results: list[tuple[str, Reply]] = []
        lock = threading.Lock()
        todo = iter(list(enumerate(keys)))
        start = threading.Barrier(clients)

        def worker() -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                start.wait(timeout=10)
            while True:
                with lock:
                    item = next(todo, None)
                if item is None:
                    return
                reply = self.get(item[1])
                with lock:
                    results.append((item[1], reply))

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=len(keys) * REQUEST_TIMEOUT)
        return results


@pytest.fixture(scope="session")
def inprocess(sandbox):
    """limiter_grader.py's findings: the middleware called in-process (races, memory of idle keys)."""
    return sandbox.findings(["python3", "/grader/limiter_grader.py"], files={"limiter_grader.py": Path(__file__).with_name("limiter_grader.py")})


@pytest.fixture(scope="session")
def api(sandbox):
    argv = ["python3", "/grader/serve_app.py", "--port", str(PORT), "--limit", str(LIMIT), "--window", str(WINDOW)]
    files = {"serve_app.py": Path(__file__).with_name("serve_app.py")}
    with sandbox.serve(argv, port=PORT, ready_path="/__grader/hits", files=files, timeout=170) as server:
        yield Api(server.url)
