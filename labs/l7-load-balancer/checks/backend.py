"""A grader-owned backend (runs in a sandbox service container): answers every request with JSON
describing what it received, so the grader sees exactly what the load balancer forwarded.

The container's main process is a small manager that runs the HTTP server as a child: SIGUSR1
kills the server (SIGKILL: a crash, connections refused at once) and SIGUSR2 starts it again.
The container -- and so its DNS name on the lab network -- stays up, as a host stays up when
its service crashes. (A stopped container's name takes seconds to fail to resolve.)

  /healthz           200 "ok", or what POST /__grader/health scripted (counted: the grader asks
                     GET /__grader/stats how often it was probed)
  /status/<code>     answers <code>
  /slow/<seconds>    answers 200 after a delay
  /__grader/drop     reads the request, then closes the connection without a byte of answer
  /__grader/truncate announces 1000 bytes of body, sends 100, closes the connection
  /__grader/hop      a chunked 200 carrying hop-by-hop headers and a repeated Set-Cookie
  anything else      200 with the request echoed

GET /__grader/events lists every /healthz answer and every other request with the time (monotonic)
it was answered or received, so the grader can tell how many failed checks removed a backend.
POST /__grader/health {"script": [500, 200, ...], "then": 200} sets the answers of the next probes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

NAME = "backend"
MANAGER_PID_FILE = "/tmp/backend-manager.pid"
STATS = {"health_checks": 0, "requests": 0}
EVENTS: list[dict] = []  # {"kind": "probe", "status"} or {"kind": "request", "path"}, each with "t"
HEALTH: dict = {"script": [], "then": 200}
LOCK = threading.Lock()
HOP_BODY = [b"first chunk;", b"second chunk;", b"last chunk"]  # the checks expect them joined


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/__grader/stats":
            with LOCK:
                return self._send(200, dict(STATS))
        if url.path == "/__grader/events":
            with LOCK:
                return self._send(200, list(EVENTS))
        if url.path == "/__grader/health" and self.command == "POST":
            with LOCK:
                HEALTH.update(json.loads(body))
                HEALTH["script"] = list(HEALTH["script"])
            return self._send(200, "scripted")
        if url.path == "/healthz":
            with LOCK:
                STATS["health_checks"] += 1
                status = HEALTH["script"].pop(0) if HEALTH["script"] else HEALTH["then"]
                EVENTS.append({"kind": "probe", "status": status, "t": time.monotonic()})
            return self._send(status, "ok" if status == 200 else "unhealthy")
        with LOCK:
            STATS["requests"] += 1
            EVENTS.append({"kind": "request", "path": url.path, "t": time.monotonic()})
        if url.path == "/__grader/drop":
            self.close_connection = True
            return None
        if url.path == "/__grader/truncate":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.send_header("X-Backend", NAME)
            self.end_headers()
            self.wfile.write(b"x" * 100)
            self.wfile.flush()
            self.close_connection = True
            return None
        if url.path == "/__grader/hop":
            return self._send_hop()
        status = 200
        if url.path.startswith("/status/"):
            status = int(url.path.rsplit("/", 1)[1])
        elif url.path.startswith("/slow/"):
            time.sleep(min(10.0, float(url.path.rsplit("/", 1)[1])))
        echo = {
            "backend": NAME,
            "method": self.command,
            "path": url.path,
            "query": url.query,
            "body": body.decode(errors="replace"),
            "headers": {name.lower(): value for name, value in self.headers.items()},
        }
        self._send(status, echo)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def _send_hop(self) -> None:
        self.protocol_version = "HTTP/1.1"  # chunked needs 1.1
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("X-Backend", NAME)
        self.send_header("X-End-To-End", "kept")
        self.send_header("Set-Cookie", "a=1; Path=/")
        self.send_header("Set-Cookie", "b=2; Path=/")
        self.send_header("Connection", "close, X-Backend-Hop")
        self.send_header("X-Backend-Hop", "connection-scoped")
        self.send_header("Keep-Alive", "timeout=99, max=7")
        self.send_header("Proxy-Authenticate", 'Basic realm="backend"')
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in HOP_BODY:
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

    def _send(self, status: int, body: object) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Backend", NAME)
        self.end_headers()
        self.wfile.write(payload)


def serve(name: str, port: int) -> None:
    global NAME
    NAME = name
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def manage(name: str, port: int) -> None:
    command = [sys.executable, os.path.abspath(__file__), "--name", name, "--port", str(port), "--child"]
    children = [subprocess.Popen(command)]

    def crash(*_: object) -> None:
        children[-1].kill()

    def recover(*_: object) -> None:
        if children[-1].poll() is not None:  # only when it is down: never two servers on one port
            children.append(subprocess.Popen(command))

    def stop(*_: object) -> None:
        children[-1].kill()
        sys.exit(0)

    signal.signal(signal.SIGUSR1, crash)
    signal.signal(signal.SIGUSR2, recover)
    signal.signal(signal.SIGTERM, stop)
    with open(MANAGER_PID_FILE, "w") as pid_file:
        pid_file.write(str(os.getpid()))
    while True:
        signal.pause()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--child", action="store_true", help="run the HTTP server itself (the manager starts it)")
    args = parser.parse_args()
    (serve if args.child else manage)(args.name, args.port)


if __name__ == "__main__":
    main()
