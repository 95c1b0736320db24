"""The processes the Kubernetes scenarios run, one mode per role (built into breakfix/kind-workloads).

  api    HTTP/1.0 JSON service on :8080 (/healthz, /orders/<id>); on SIGTERM /healthz answers 503
         (draining) while it goes on serving for DRAIN_SECONDS (default 0), then it stops accepting
         new connections, finishes the ones in flight, and exits.
  batch  a report worker that sizes its buffers from the memory it is given, like a JVM with
         MaxRAMPercentage: 75% of its cgroup limit, or UNBOUNDED_MIB when it has no limit.
  cache  loads CACHE_MIB of data, then reports ready (/tmp/ready) and holds it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MIB = 1024 * 1024
stopping = threading.Event()


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def cgroup_limit() -> int | None:
    """This container's memory limit in bytes, or None when unbounded (cgroup v2, then v1)."""
    for path, unlimited in (("/sys/fs/cgroup/memory.max", "max"), ("/sys/fs/cgroup/memory/memory.limit_in_bytes", None)):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text == unlimited or int(text) >= 1 << 60:
            return None
        return int(text)
    return None


def hold(megabytes: int, ramp_mib_per_second: int) -> list[bytes]:
    """Allocate and touch `megabytes`, `ramp` MiB per second: real resident memory, not reserved."""
    chunks = []
    while len(chunks) < megabytes and not stopping.is_set():
        for _ in range(min(ramp_mib_per_second, megabytes - len(chunks))):
            chunks.append(b"\x01" * MIB)
        time.sleep(1)
    return chunks


def batch() -> None:
    limit = cgroup_limit()
    target = int(limit * 0.75) // MIB if limit else int(os.environ.get("UNBOUNDED_MIB", "640"))
    log(f"memory limit {'none' if limit is None else f'{limit // MIB} MiB'}: report buffers of {target} MiB")
    buffers = hold(target, int(os.environ.get("RAMP_MIB_PER_SECOND", "32")))
    log(f"holding {len(buffers)} MiB: building reports")
    while not stopping.wait(5):
        pass


def cache() -> None:
    size = int(os.environ.get("CACHE_MIB", "448"))
    data = hold(size, 128)
    Path("/tmp/ready").write_text(f"{len(data)}\n")
    log(f"cache loaded: {len(data)} MiB")
    while not stopping.wait(5):
        pass


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: every request is routed afresh

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/healthz":
            status, body = (503, {"status": "draining"}) if stopping.is_set() else (200, {"status": "ok"})
        elif self.path.startswith("/orders/"):
            status, body = 200, {"order": self.path.rsplit("/", 1)[-1], "pod": socket.gethostname(), "state": "confirmed"}
        else:
            status, body = 404, {"error": "not found"}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would drown the pod's logs


def api() -> None:
    server = ThreadingHTTPServer(("0.0.0.0", 8080), Api)
    server.daemon_threads = False  # shutdown waits for requests in flight
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log("serving on :8080")
    stopping.wait()
    drain = float(os.environ.get("DRAIN_SECONDS", "0"))
    log(f"SIGTERM: draining for {drain:.0f}s")
    time.sleep(drain)
    server.shutdown()
    server.server_close()
    log("stopped")


def main() -> None:
    # PID 1 ignores SIGTERM unless it installs a handler: without one, every stop waits out the grace period
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    modes = {"api": api, "batch": batch, "cache": cache}
    if len(sys.argv) != 2 or sys.argv[1] not in modes:
        sys.exit(f"usage: workload.py {{{','.join(modes)}}}")
    modes[sys.argv[1]]()


if __name__ == "__main__":
    main()
