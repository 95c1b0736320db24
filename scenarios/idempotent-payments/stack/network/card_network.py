"""card-network: the stub of the card processor payments-api charges through.

Every POST /v1/charges is executed -- money moves -- the moment it is received, whether or not
the caller is still there to read the answer, as with a real processor. The ledger of every
execution is the ground truth of what customers were charged.

  POST /v1/charges              {"reference", "account", "amount", "currency", "description"}
                                -> 200 {"network_charge", "reference", "status": "succeeded" | "declined"}
  GET  /v1/charges?reference=R  -> 200 {"data": [...]} the executions made with that reference
  GET  /v1/ledger?after=N       -> 200 {"data": [...]} every execution after sequence number N
                                   (each with the caller's IP address, executed_at and answered_at)
  GET  /healthz

The issuer answers in AUTH_SECONDS, or SLOW_AUTH_SECONDS for the accounts in SLOW_ACCOUNTS
(their bank is slow); an amount ending in 13 is declined.
"""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

AUTH_SECONDS = float(os.environ.get("AUTH_SECONDS", "0.25"))
SLOW_AUTH_SECONDS = float(os.environ.get("SLOW_AUTH_SECONDS", "1.5"))
SLOW_ACCOUNTS = set(filter(None, os.environ.get("SLOW_ACCOUNTS", "").split(",")))
FIELDS = ("reference", "account", "amount", "currency", "description")

ledger: list[dict] = []
ledger_lock = threading.Lock()


def execute(request: dict, caller: str) -> dict:
    with ledger_lock:
        sequence = len(ledger) + 1
        entry = {field: request.get(field) for field in FIELDS}
        entry.update(
            sequence=sequence,
            caller=caller,
            network_charge=f"nc_{sequence:08d}",
            status="declined" if int(request.get("amount") or 0) % 100 == 13 else "succeeded",
            executed_at=time.time(),
        )
        ledger.append(entry)
    return entry


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller died or gave up: the charge stands all the same

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/healthz":
            self.answer(200, {"ok": True})
        elif url.path == "/v1/charges" and "reference" in query:
            with ledger_lock:
                found = [dict(entry) for entry in ledger if entry["reference"] == query["reference"][0]]
            self.answer(200, {"data": found})
        elif url.path == "/v1/ledger":
            after = int(query.get("after", ["0"])[0])
            with ledger_lock:  # copies: the answer is written outside the lock, charges never wait for a reader
                entries = [dict(entry) for entry in ledger[after:]]
            self.answer(200, {"data": entries})
        else:
            self.answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/v1/charges":
            self.answer(404, {"error": "not found"})
            return
        try:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            missing = [field for field in FIELDS if field not in request]
        except (ValueError, TypeError):
            self.answer(400, {"error": "body must be a JSON object"})
            return
        if missing:
            self.answer(400, {"error": f"missing {', '.join(missing)}"})
            return
        entry = execute(request, self.client_address[0])
        time.sleep(SLOW_AUTH_SECONDS if entry["account"] in SLOW_ACCOUNTS else AUTH_SECONDS)
        with ledger_lock:
            entry["answered_at"] = time.time()
        self.answer(200, {"network_charge": entry["network_charge"], "reference": entry["reference"], "status": entry["status"]})

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per charge through the engine's log pipe would cost more than the charge


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a storm opens many connections at once; a dropped SYN waits 1 s


if __name__ == "__main__":
    Server(("0.0.0.0", 9000), Handler).serve_forever()
