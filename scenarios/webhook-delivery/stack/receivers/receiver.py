"""A customer's webhook receiver: it verifies the signature, answers the way this customer's endpoint
does (MODE), and records every attempt it sees -- the ground truth the checks count against.

  POST /webhooks       a delivery: the event as JSON, `Webhook-Signature: v1=<hex HMAC-SHA256 of the body>`
  GET  /_log?after=N   every attempt since the N-th: time, event id, signature, body digest, answer and its time, outcome
  GET  /_status        attempts in flight, whether an outage is on, the digest of this file
  POST /_outage        {"after": s, "seconds": s}: answer 503 to every delivery in that window

MODE: healthy | slow (SLOW_SECONDS before answering) | outage (healthy outside /_outage windows) |
flaky (500 to every FAIL_EVERY-th delivery, never twice to one event) | gone (410 to everything: the endpoint was deleted).
An event counts as processed only when its answer is a 2xx written to a sender still waiting for it:
a receiver's handler that finds its caller gone rolls its work back, like a web framework whose
client disconnected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MODE = os.environ.get("MODE", "healthy")
SECRET = os.environ["SECRET"].encode()
SLOW_SECONDS = float(os.environ.get("SLOW_SECONDS", "1.5"))
FAIL_EVERY = int(os.environ.get("FAIL_EVERY", "3"))
MAX_LOG = 200_000  # a flood of deliveries ends the log, never the receiver's memory
with open(__file__, "rb") as _source:
    CODE = hashlib.sha256(_source.read()).hexdigest()

lock = threading.Lock()
log: list[dict] = []
seen: set[str] = set()
state = {"in_flight": 0, "deliveries": 0, "refused": 0, "outage": (0.0, 0.0)}
failed: set[str] = set()  # events a flaky endpoint refused once


def in_outage() -> bool:
    start, end = state["outage"]
    return start <= time.monotonic() < end


def caller_gone(connection: socket.socket) -> bool:
    """The sender closed its end (it gave up, or its process died) while we worked."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class Handler(BaseHTTPRequestHandler):
    server_version = "receiver"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 -- the attempt log is the record
        pass

    def reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/_log":
            after = int(parse_qs(url.query).get("after", ["0"])[0])
            with lock:
                entries = log[after:after + 20_000]
            self.reply(200, {"code": CODE, "total": len(log), "entries": entries})
        elif url.path in ("/_status", "/healthz"):
            with lock:
                self.reply(200, {"mode": MODE, "code": CODE, "in_flight": state["in_flight"], "outage": in_outage(),
                                 "attempts": len(log), "refused": state["refused"]})
        else:
            self.reply(404, {"error": "no such path"})

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if 0 < length <= 1 << 20 else b""
        if url.path == "/_outage":
            window = json.loads(body or b"{}")
            start = time.monotonic() + float(window.get("after", 0))
            state["outage"] = (start, start + float(window.get("seconds", 0)))
            self.reply(200, {"ok": True})
            return
        if url.path != "/webhooks":
            self.reply(404, {"error": "no such path"})
            return
        try:
            event_id = str(json.loads(body)["id"])
        except (ValueError, KeyError, TypeError):
            event_id = ""
        signature = self.headers.get("Webhook-Signature", "")
        expected = "v1=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        entry = {"t": time.time(), "event": event_id, "signature": signature, "body": hashlib.sha256(body).hexdigest(),
                 "valid": hmac.compare_digest(signature, expected), "retry": False, "status": 0, "outcome": "pending"}
        with lock:
            entry["retry"] = event_id in seen
            seen.add(event_id)
            if len(log) < MAX_LOG:
                log.append(entry)
            state["in_flight"] += 1
            state["deliveries"] += 1
            number = state["deliveries"]
        try:
            status = self.answer(number, entry)
            entry["status"], entry["answered"] = status, time.time()
            if 200 <= status < 300 and caller_gone(self.connection):
                entry["outcome"] = "abandoned"
                return
            entry["outcome"] = "processed" if 200 <= status < 300 else "refused"
            if status >= 300:
                with lock:
                    state["refused"] += 1
            self.reply(status, {"received": status < 300})
        except OSError:
            entry["outcome"] = "abandoned"
        finally:
            with lock:
                state["in_flight"] -= 1

    def answer(self, number: int, entry: dict) -> int:
        if not entry["valid"] or not entry["event"]:
            return 400
        if MODE == "gone":
            return 410
        if MODE == "outage" and in_outage():
            return 503
        if MODE == "flaky" and number % FAIL_EVERY == 0 and entry["event"] not in failed:
            with lock:
                failed.add(entry["event"])
            return 500
        if MODE == "slow":
            time.sleep(SLOW_SECONDS)
        return 200


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


if __name__ == "__main__":
    Server(("0.0.0.0", 9000), Handler).serve_forever()
