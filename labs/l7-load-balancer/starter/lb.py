"""A layer-7 (HTTP) load balancer. See README.md for the exact behaviour and command line."""

from __future__ import annotations

import argparse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Proxy(BaseHTTPRequestHandler):
    backends: tuple[str, ...] = ()

    def _proxy(self) -> None:
        # TODO: pick the next healthy backend (round-robin), forward the request, relay the answer.
        self.send_error(502, "not implemented yet")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _proxy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--backend", action="append", required=True, help="http://host:port (repeat)")
    parser.add_argument("--health-path", default="/healthz")
    parser.add_argument("--health-interval", type=float, default=1.0)
    parser.add_argument("--health-timeout", type=float, default=0.5)
    parser.add_argument("--fall", type=int, default=2)
    parser.add_argument("--rise", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a backend's response")
    args = parser.parse_args()
    # TODO: start the active health checks.
    Proxy.backends = tuple(args.backend)
    ThreadingHTTPServer(("0.0.0.0", args.port), Proxy).serve_forever()


if __name__ == "__main__":
    main()
