"""One cluster per grading run: three grader-owned backends on the lab network and the
learner's load balancer in front of them, published on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harness.checks import http_load

BACKENDS = ("app-1", "app-2", "app-3")
BACKEND_PORT = 9000
LB_PORT = 8000
HEALTH_INTERVAL = 0.5
FALL = RISE = 3  # not the defaults (2): an LB that ignores --fall/--rise is caught by the count test
HEALTH_TIMEOUT = 1.0  # generous: a busy CI machine must not fail a healthy backend's probe
# after a backend dies, the LB must have removed it within fall checks plus one interval's slack and a probe timeout
DETECTION_SECONDS = (FALL + 1) * HEALTH_INTERVAL + HEALTH_TIMEOUT
REQUEST_TIMEOUT = 5.0
HUNG_AFTER = 3  # timed-out requests after which the LB is taken as hung


@dataclass(frozen=True)
class Reply:
    status: int  # 0: no HTTP response
    backend: str  # the X-Backend header: which backend answered ("" if none)
    body: bytes
    seconds: float
    error: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # as received, repeated names kept apart

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def describe(self) -> str:
        if self.status == 0:
            return f"no response after {self.seconds:.1f} s ({self.error})"
        return f"{self.status} from {self.backend or 'no backend'}: {self.body[:100]!r}"


class Cluster:
    def __init__(self, lb_url: str, backends: dict, sandbox=None, network=None) -> None:  # noqa: ANN001 -- the plugin's Sandbox
        self.url = lb_url
        self.sandbox, self.network = sandbox, network
        parts = urlsplit(lb_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.backends = backends
        self.started = time.monotonic()
        self.proxied = False  # has any request come back from a backend through the LB?
        self.timeouts = 0
        self.first_health_checks = {name: self.health_checks(name) for name in backends}

    def request(self, method: str = "GET", path: str = "/", body: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
        started = time.monotonic()
        if self.timeouts >= HUNG_AFTER:  # a hung LB fails the remaining checks at once, not 5 s per request
            return Reply(0, "", b"", 0.0, f"not sent: {HUNG_AFTER} requests already timed out after {REQUEST_TIMEOUT:.0f} s (is the LB stuck?)")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            payload = response.read()
            reply = Reply(response.status, response.getheader("X-Backend", ""), payload, time.monotonic() - started,
                          headers=tuple(response.getheaders()))
            self.proxied = self.proxied or bool(reply.backend)
            return reply
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, TimeoutError):
                self.timeouts += 1
            return Reply(0, "", b"", time.monotonic() - started, f"{type(exc).__name__}: {exc}")
        finally:
            conn.close()

    def sequence(self, count: int, path: str = "/") -> list[Reply]:
        return [self.request(path=path) for _ in range(count)]

    def raw(self, data: bytes) -> str:
        """Send raw bytes; the first line of whatever comes back ('' if nothing within the timeout)."""
        try:
            with socket.create_connection((self.host, self.port), timeout=REQUEST_TIMEOUT) as conn:
                conn.sendall(data)
                return conn.makefile("rb").readline(200).decode(errors="replace").strip()
        except OSError as exc:
            return f"({type(exc).__name__})"

    def load(self, total: int, clients: int, path: str = "/") -> list[Reply]:
        """`total` GETs from `clients` concurrent keep-alive clients (the harness's bounded probe)."""
        result = http_load(self.url, [path], total=total, concurrency=clients, timeout=REQUEST_TIMEOUT, deadline=20)
        return [Reply(r.status, r.headers.get("x-backend", ""), r.body, r.seconds, r.error) for r in result.responses]

    @staticmethod
    def share(replies: list[Reply]) -> str:
        """Who answered, for a message: 'app-1 10, app-3 9, status 502 1'."""
        counts = Counter(reply.backend or f"status {reply.status}" for reply in replies)
        return ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))

    def crash(self, name: str) -> None:
        """Kill the backend's server process (SIGKILL); its host stays up, so it refuses connections."""
        self._signal(name, "USR1")

    def recover(self, name: str) -> None:
        self._signal(name, "USR2")

    def require_proxying(self) -> None:
        """Health behaviour is judged on a working proxy: fail at once, not after the waits, if there is none."""
        if not self.proxied:
            self.request()
        assert self.proxied, "the load balancer has not relayed a single backend response yet: proxying comes first"

    detection = DETECTION_SECONDS
    fall, rise = FALL, RISE

    def wait_for_detection(self) -> None:
        time.sleep(self.detection)

    def provoked(self) -> AbstractContextManager:
        """A second instance of the learner's LB, run by provoke.py (another thread gets the GIL
        between any two of its lines), in front of the same backends; its health checks are slow."""
        argv = ["python3", "/grader/provoke.py", "lb.py", "--port", str(LB_PORT), "--health-interval", "5",
                "--health-timeout", str(HEALTH_TIMEOUT)]
        for name in BACKENDS:
            argv += ["--backend", f"http://{name}:{BACKEND_PORT}"]
        return self.sandbox.serve(argv, port=LB_PORT, network=self.network, timeout=120,
                                  files={"provoke.py": Path(__file__).with_name("provoke.py")})

    def _signal(self, name: str, signal: str) -> None:
        result = self.backends[name].container.exec_run(["sh", "-c", f'kill -{signal} "$(cat /tmp/backend-manager.pid)"'])
        assert result.exit_code == 0, f"the grader could not signal backend {name}: {result.output[-200:]!r}"

    def health_checks(self, name: str) -> int:
        with urllib.request.urlopen(self.backends[name].url + "/__grader/stats", timeout=5) as stats:
            return int(json.loads(stats.read())["health_checks"])

    def events(self, name: str) -> list[dict]:
        """What the backend saw, in order: {"kind": "probe", "status", "t"} or {"kind": "request", "path", "t"}."""
        with urllib.request.urlopen(self.backends[name].url + "/__grader/events", timeout=5) as events:
            return json.loads(events.read())

    def script_health(self, name: str, script: list[int], then: int) -> None:
        """The backend answers its next probes with `script`'s statuses, then with `then`."""
        request = urllib.request.Request(self.backends[name].url + "/__grader/health", method="POST",
                                         data=json.dumps({"script": script, "then": then}).encode())
        with urllib.request.urlopen(request, timeout=5) as answer:
            answer.read()


def start_together(stack: ExitStack, services: dict[str, AbstractContextManager]) -> dict:
    """Enter the services' contexts in parallel (each takes seconds to be ready) and register
    one parallel exit on `stack`: every one that came up is removed even if another failed."""
    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        futures = {name: pool.submit(service.__enter__) for name, service in services.items()}
    endpoints, problems = {}, []
    for name, future in futures.items():
        try:
            endpoints[name] = future.result()
        except Exception as exc:  # noqa: BLE001 -- reported below, after the others are registered for removal
            problems.append(exc)

    def stop_all() -> None:
        with ThreadPoolExecutor(max_workers=len(services)) as pool:
            for name in endpoints:
                pool.submit(services[name].__exit__, None, None, None)

    stack.callback(stop_all)
    if problems:
        raise problems[0]
    return endpoints


@pytest.fixture(scope="session")
def cluster(sandbox):
    network = sandbox.network()
    files = {"backend.py": Path(__file__).with_name("backend.py")}
    with ExitStack() as stack:
        backends = start_together(stack, {
            name: sandbox.service(
                ["python3", "/grader/backend.py", "--name", name, "--port", str(BACKEND_PORT)],
                name=name, network=network, port=BACKEND_PORT, files=files, ready_path="/healthz", timeout=300,
            )
            for name in BACKENDS
        })
        argv = ["python3", "lb.py", "--port", str(LB_PORT), "--health-interval", str(HEALTH_INTERVAL),
                "--fall", str(FALL), "--rise", str(RISE), "--health-timeout", str(HEALTH_TIMEOUT)]
        for name in BACKENDS:
            argv += ["--backend", f"http://{name}:{BACKEND_PORT}"]
        lb = stack.enter_context(sandbox.serve(argv, port=LB_PORT, network=network, timeout=240))
        yield Cluster(lb.url, backends, sandbox, network)
