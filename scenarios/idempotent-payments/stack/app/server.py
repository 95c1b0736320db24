"""payments-api: the HTTP layer (WSGI under gunicorn). What a payment does is in payments.py.

  POST /v1/accounts/<account>/payments     Idempotency-Key: <key>
       {"amount": 1250, "currency": "usd", "description": "order 4711"}
  GET  /healthz
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time

import payments
import psycopg

REPLICA = os.environ.get("REPLICA", "unknown")
DSN = os.environ["DATABASE_URL"]
PAYMENTS_PATH = re.compile(r"^/v1/accounts/(acct_[A-Za-z0-9]{1,32})/payments$")
STATUS_TEXT = {200: "OK", 201: "Created", 400: "Bad Request", 402: "Payment Required", 404: "Not Found",
               405: "Method Not Allowed", 409: "Conflict", 422: "Unprocessable Entity", 500: "Internal Server Error",
               502: "Bad Gateway", 503: "Service Unavailable"}

_local = threading.local()


def code_version(folder: str = os.path.dirname(os.path.abspath(__file__))) -> str:
    """A digest of the app's *.py files: /healthz reports the code this worker loaded, so a reload can be
    seen to have taken effect (`sha256sum` of the files, concatenated in name order, is the same digest)."""
    digest = hashlib.sha256()
    for name in sorted(n for n in os.listdir(folder) if n.endswith(".py")):
        with open(os.path.join(folder, name), "rb") as source:
            digest.update(source.read())
    return digest.hexdigest()


CODE = code_version()


def connect() -> psycopg.Connection:
    # autocommit: each statement commits on its own unless payments.py opens a transaction
    return psycopg.connect(DSN, autocommit=True, connect_timeout=3, options="-c statement_timeout=5000 -c lock_timeout=5000")


def db() -> psycopg.Connection:
    """This thread's connection, opened again when the last one broke."""
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = connect()
    return conn


def drop_connection() -> None:
    conn = getattr(_local, "conn", None)
    _local.conn = None
    if conn is not None:
        conn.close()  # whatever it held (a transaction, a lock) is released with it


def apply_schema(deadline: float = 30.0) -> None:
    """Create the tables at worker start; the database may still be starting, so retry (bounded)."""
    until = time.monotonic() + deadline
    while True:
        try:
            with connect() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(7001)")  # the two replicas boot at the same time
                conn.execute(payments.SCHEMA)
            return
        except psycopg.OperationalError:
            if time.monotonic() > until:
                raise
            time.sleep(0.5)


def parse(environ: dict) -> tuple[str, dict] | tuple[int, dict]:
    """(key, request) of a payment call, or (status, error body)."""
    key = environ.get("HTTP_IDEMPOTENCY_KEY", "").strip()
    if not key or len(key) > 255:
        return 400, {"error": {"type": "invalid_request", "message": "the Idempotency-Key header is required (at most 255 characters)"}}
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) if 0 < length <= 65536 else b"")
    except ValueError:
        return 400, {"error": {"type": "invalid_request", "message": "the body must be a JSON object"}}
    valid = (
        isinstance(request, dict) and isinstance(request.get("amount"), int) and not isinstance(request["amount"], bool)
        and 0 < request["amount"] <= 10**8 and isinstance(request.get("currency"), str)
        and isinstance(request.get("description"), str) and set(request) <= {"amount", "currency", "description"}
    )
    if not valid:
        return 400, {"error": {"type": "invalid_request", "message": "amount (cents), currency and description are required"}}
    return key, request


def handle(environ: dict) -> tuple[int, dict, dict[str, str]]:
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
    if path == "/healthz":
        db().execute("SELECT 1")
        return 200, {"ok": True, "replica": REPLICA, "code": CODE}, {}
    match = PAYMENTS_PATH.match(path)
    if not match:
        return 404, {"error": {"type": "invalid_request", "message": f"no route {path}"}}, {}
    if method != "POST":
        return 405, {"error": {"type": "invalid_request", "message": "POST a payment"}}, {}
    parsed = parse(environ)
    if isinstance(parsed[0], int):
        return parsed[0], parsed[1], {}
    key, request = parsed
    return payments.create_payment(db(), match[1], key, request)


def app(environ: dict, start_response) -> list[bytes]:
    try:
        status, body, headers = handle(environ)
    except Exception as exc:  # noqa: BLE001 -- any failure is this request's 500, and its connection is suspect
        drop_connection()
        status, body, headers = 500, {"error": {"type": "api_error", "message": f"{type(exc).__name__}: {exc}"[:300]}}, {}
    data = json.dumps(body).encode()
    start_response(f"{status} {STATUS_TEXT.get(status, 'Status')}", [
        ("Content-Type", "application/json"), ("Content-Length", str(len(data))), ("X-Served-By", REPLICA), *headers.items(),
    ])
    return [data]


apply_schema()
