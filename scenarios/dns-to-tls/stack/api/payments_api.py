"""payments-api: the service behind the TLS load balancer (plain HTTP on :8000, never exposed).

GET /v1/status answers with an HMAC of the caller's X-Request-Nonce under the service's secret, so a
caller who holds the secret can tell a real answer of this service from a page that merely says 200.
"""

import hashlib
import hmac
import json
import os
import socket

SECRET = os.environ["API_SECRET"].encode()


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok\n"]
    if path != "/v1/status":
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"error": "not found"}\n']
    nonce = environ.get("HTTP_X_REQUEST_NONCE", "")
    body = {
        "service": "payments-api",
        "host": socket.gethostname(),
        "nonce": nonce,
        "mac": hmac.new(SECRET, nonce.encode(), hashlib.sha256).hexdigest(),
        "forwarded_proto": environ.get("HTTP_X_FORWARDED_PROTO", ""),
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(body).encode() + b"\n"]
