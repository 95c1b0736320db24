"""One of the mesh's services (SERVICE=orders|payments|ledger), on 127.0.0.1:8000 behind its nginx sidecar.

The sidecar terminates mutual TLS and passes the caller's certificate (X-Client-Cert, URL-escaped
PEM); the caller's identity is that certificate's spiffe:// URI SAN. Outgoing calls go to the
sidecar's egress on 127.0.0.1:15001, which originates mutual TLS. Standard library only.

    orders    POST /checkout -> payments POST /charges;  POST /refund -> payments POST /admin/refunds
    payments  POST /charges -> ledger POST /entries;      POST /admin/refunds
              (who may call which path: /etc/mesh/policy/payments.json, read on every request)
    ledger    POST /entries
"""

from __future__ import annotations

import fnmatch
import http.client
import json
import os
import ssl
import sys
import tempfile
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

SERVICE = os.environ["SERVICE"]
POLICY = "/etc/mesh/policy/payments.json"
EGRESS = ("127.0.0.1", 15001)


def caller_identity(escaped_pem: str | None) -> str | None:
    """The spiffe:// URI SAN of the certificate the sidecar verified, or None without one."""
    if not escaped_pem:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as handle:
        handle.write(unquote(escaped_pem))
        handle.flush()
        try:
            # the stdlib's own certificate decoder (what ssl.getpeercert returns): no third-party package in the image
            decoded = ssl._ssl._test_decode_cert(handle.name)  # type: ignore[attr-defined]
        except (ssl.SSLError, ValueError):
            return None
    uris = [value for kind, value in decoded.get("subjectAltName", ()) if kind == "URI" and value.startswith("spiffe://")]
    return uris[0] if uris else None


def allowed(caller: str | None, path: str) -> bool:
    with open(POLICY, encoding="utf-8") as handle:
        policy: dict[str, Any] = json.load(handle)
    rules = sorted((prefix for prefix in policy if prefix.startswith("/") and path.startswith(prefix)), key=len, reverse=True)
    if not rules:
        return False
    return caller is not None and any(fnmatch.fnmatchcase(caller, pattern) for pattern in policy[rules[0]])


def call(path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST through the sidecar's egress; a failed leg answers with the sidecar's status and text."""
    connection = http.client.HTTPConnection(*EGRESS, timeout=5)
    try:
        connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        raw = response.read()
    except OSError as exc:
        return 502, {"error": f"egress unreachable: {exc}"}
    finally:
        connection.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:  # not the callee's answer: the sidecar's own error page
        text = raw.decode(errors="replace")
        title = text.split("<title>", 1)[1].split("</title>", 1)[0] if "<title>" in text else text[:200]
        return response.status, {"error": f"the egress sidecar of {SERVICE} answered {title}"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Mesh-Service", SERVICE)  # the request reached the app, past the sidecar
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, {"service": SERVICE, "ok": True})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send(400, {"error": "body is not JSON"})
            return
        caller = caller_identity(self.headers.get("X-Client-Cert"))
        route = getattr(self, f"_{SERVICE}", None)
        if route is None:
            self._send(500, {"error": f"unknown service {SERVICE}"})
            return
        route(request, caller)

    def _relay(self, leg: str, status: int, answer: Any, ok: dict[str, Any]) -> None:
        if 200 <= status < 300:
            self._send(200, ok)
        else:
            self._send(502, {"service": SERVICE, "error": f"{leg} answered {status}", "upstream": answer})

    def _orders(self, request: dict[str, Any], caller: str | None) -> None:
        order = request.get("order") or f"ord_{uuid.uuid4().hex[:12]}"
        if self.path == "/checkout":
            status, answer = call("/charges", {"order": order, "amount": request.get("amount", 1999)})
            self._relay("payments", status, answer, {"service": SERVICE, "order": order, "payments": answer})
        elif self.path == "/refund":
            status, answer = call("/admin/refunds", {"order": order})
            self._relay("payments", status, answer, {"service": SERVICE, "order": order, "payments": answer})
        else:
            self._send(404, {"error": "not found"})

    def _payments(self, request: dict[str, Any], caller: str | None) -> None:
        if self.path not in ("/charges", "/admin/refunds"):
            self._send(404, {"error": "not found"})
            return
        if not allowed(caller, self.path):
            self._send(403, {"service": SERVICE, "caller": caller, "error": f"{caller or 'a caller without identity'} may not call {self.path}"})
            return
        if self.path == "/admin/refunds":
            self._send(200, {"service": SERVICE, "caller": caller, "refund": f"rf_{uuid.uuid4().hex[:12]}", "order": request.get("order")})
            return
        charge = f"ch_{uuid.uuid4().hex[:12]}"
        status, answer = call("/entries", {"charge": charge, "order": request.get("order"), "amount": request.get("amount")})
        self._relay("ledger", status, answer, {"service": SERVICE, "caller": caller, "charge": charge, "ledger": answer})

    def _ledger(self, request: dict[str, Any], caller: str | None) -> None:
        if self.path != "/entries":
            self._send(404, {"error": "not found"})
            return
        self._send(201, {"service": SERVICE, "caller": caller, "entry": f"le_{uuid.uuid4().hex[:12]}", "charge": request.get("charge")})

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 -- the stdlib's signature
        sys.stdout.write(f"{SERVICE} {self.address_string()} {format % args}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", 8000), Handler).serve_forever()
