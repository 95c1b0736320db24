"""A layer-7 (HTTP) load balancer: round-robin over healthy backends, active health checks that
remove a failing backend and re-admit it once it recovers. Standard library only."""

from __future__ import annotations

import argparse
import http.client
import itertools
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# RFC 9110 7.6.1: connection-scoped headers are not forwarded by a proxy
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade"}


def end_to_end(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers a proxy passes on: neither the hop-by-hop ones nor those the Connection header names."""
    named = {token.strip().lower() for name, value in headers if name.lower() == "connection" for token in value.split(",")}
    return [(name, value) for name, value in headers if name.lower() not in HOP_BY_HOP and name.lower() not in named]


@dataclass
class Backend:
    host: str
    port: int
    healthy: bool = True  # optimistic at start: traffic flows before the first check completes
    failures: int = 0
    successes: int = 0

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"


class Pool:
    """The backends and their health; picks the next healthy one in strict rotation."""

    def __init__(self, backends: list[Backend], fall: int, rise: int) -> None:
        self.backends = backends
        self.fall, self.rise = fall, rise
        self._lock = threading.Lock()
        self._turn = itertools.count()

    def candidates(self) -> list[Backend]:
        """Healthy backends, starting with the one whose turn it is (the rest are fallbacks)."""
        with self._lock:
            healthy = [b for b in self.backends if b.healthy]
            if not healthy:
                return []
            start = next(self._turn) % len(healthy)
            return healthy[start:] + healthy[:start]

    def record(self, backend: Backend, ok: bool) -> None:
        """One health-check result: `fall` failures in a row remove, `rise` successes re-admit."""
        with self._lock:
            if ok:
                backend.failures, backend.successes = 0, backend.successes + 1
                if not backend.healthy and backend.successes >= self.rise:
                    backend.healthy = True
            else:
                backend.successes, backend.failures = 0, backend.failures + 1
                if backend.healthy and backend.failures >= self.fall:
                    backend.healthy = False


def probe(backend: Backend, path: str, timeout: float) -> bool:
    conn = http.client.HTTPConnection(backend.host, backend.port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def check_forever(pool: Pool, backend: Backend, path: str, interval: float, timeout: float) -> None:
    """One thread per backend, so a slow backend never delays the verdict on the others."""
    while True:
        started = time.monotonic()
        pool.record(backend, probe(backend, path, timeout))
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


class Proxy(BaseHTTPRequestHandler):
    pool: Pool
    timeout_seconds: float

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _proxy(self) -> None:
        length_header = self.headers.get("Content-Length") or "0"
        if not length_header.isdigit():
            return self._reply(400, b"bad Content-Length\n")
        length = int(length_header)
        body = self.rfile.read(length) if length else None
        headers = dict(end_to_end(self.headers.items()))
        headers["X-Forwarded-For"] = self.client_address[0]
        candidates = self.pool.candidates()
        for backend in candidates:
            conn = http.client.HTTPConnection(backend.host, backend.port, timeout=self.timeout_seconds)
            try:
                try:
                    conn.connect()
                except OSError:
                    continue  # nothing was sent: safe to try the next backend, even for a POST
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                return self._reply(502, f"bad gateway: {backend.name}: {type(exc).__name__}\n".encode())
            finally:
                conn.close()
            return self._reply(response.status, payload, end_to_end(response.getheaders()))
        if candidates:
            return self._reply(502, b"no backend accepted the connection\n")
        self._reply(503, b"no healthy backend\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _proxy

    def _reply(self, status: int, payload: bytes, headers: list[tuple[str, str]] | None = None) -> None:
        self.send_response_only(status)
        for name, value in headers or [("Content-Type", "text/plain")]:
            if name.lower() != "content-length":  # the body is relayed whole: its length is ours to state
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def parse_backend(url: str) -> Backend:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise argparse.ArgumentTypeError(f"backend must be http://host:port, got {url!r}")
    return Backend(parts.hostname, parts.port or 80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--backend", type=parse_backend, action="append", required=True, help="http://host:port (repeat)")
    parser.add_argument("--health-path", default="/healthz")
    parser.add_argument("--health-interval", type=float, default=1.0)
    parser.add_argument("--health-timeout", type=float, default=0.5)
    parser.add_argument("--fall", type=int, default=2)
    parser.add_argument("--rise", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a backend's response")
    args = parser.parse_args()

    pool = Pool(args.backend, args.fall, args.rise)
    for backend in pool.backends:
        threading.Thread(target=check_forever, args=(pool, backend, args.health_path, args.health_interval, args.health_timeout), daemon=True).start()
    Proxy.pool, Proxy.timeout_seconds = pool, args.timeout
    server = ThreadingHTTPServer(("0.0.0.0", args.port), Proxy)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
