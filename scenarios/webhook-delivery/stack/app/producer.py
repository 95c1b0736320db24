"""payments-core's event producer: every payment state change becomes a row in `events`, committed
before the caller gets its answer (the outbox the dispatcher reads).

  POST /v1/events   {"type": "payment.succeeded", "data": {...}}, or a list of them (one transaction)
  GET  /healthz
(WSGI on the standard library's threading server: one thread per request)
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http import HTTPStatus
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import psycopg
import webhooks
from psycopg.types.json import Jsonb

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id            bigserial PRIMARY KEY,
    event_id      text NOT NULL UNIQUE,
    type          text NOT NULL,
    payload       jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz           -- set once the dispatcher has taken the event over
);
CREATE INDEX IF NOT EXISTS events_undispatched ON events (id) WHERE dispatched_at IS NULL;
CREATE TABLE IF NOT EXISTS subscriptions (
    endpoint    text PRIMARY KEY,
    url         text NOT NULL,
    secret      text NOT NULL,
    event_types text[] NOT NULL
);
-- what operations replays from: deliveries that can never succeed
CREATE TABLE IF NOT EXISTS dead_letters (
    event_id   text NOT NULL,
    endpoint   text NOT NULL,
    reason     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, endpoint)
);
INSERT INTO subscriptions (endpoint, url, secret, event_types) VALUES
    ('acme',     'http://acme:9000/webhooks',     'whsec_acme_6f1c2d',     '{payment.succeeded,payment.failed,payment.refunded}'),
    ('initech',  'http://initech:9000/webhooks',  'whsec_initech_93ab07',  '{payment.refunded}'),
    ('globex',   'http://globex:9000/webhooks',   'whsec_globex_2e8f41',   '{payment.succeeded,payment.failed,payment.refunded,payout.paid}'),
    ('hooli',    'http://hooli:9000/webhooks',    'whsec_hooli_c4d590',    '{payment.succeeded,payment.failed,payment.refunded,payout.paid}'),
    ('umbrella', 'http://umbrella:9000/webhooks', 'whsec_umbrella_7a3b12', '{payment.succeeded,payment.failed,payment.refunded,payout.paid}')
ON CONFLICT (endpoint) DO NOTHING;
"""
TYPES = {"payment.succeeded", "payment.failed", "payment.refunded", "payout.paid"}

_local = threading.local()


def db() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = webhooks.connect()
    return conn


def apply_schema(deadline: float = 60.0) -> None:
    until = time.monotonic() + deadline
    while True:
        try:
            with webhooks.connect() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(7101)")
                conn.execute(SCHEMA)
            return
        except psycopg.OperationalError:
            if time.monotonic() > until:
                raise
            time.sleep(0.5)


def publish(items: list[dict]) -> list[dict]:
    conn = db()
    with conn.transaction():
        created = []
        for item in items:
            event_id = "evt_" + secrets.token_hex(12)
            row = conn.execute("INSERT INTO events (event_id, type, payload) VALUES (%s, %s, %s) RETURNING created_at",
                               (event_id, item["type"], Jsonb(item["data"]))).fetchone()
            created.append({"id": event_id, "type": item["type"], "created": row[0].isoformat()})
    return created


def handle(environ: dict) -> tuple[int, object]:
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
    if path == "/healthz":
        try:
            db().execute("SELECT 1")
        except psycopg.Error as exc:
            _local.conn = None
            return 503, {"ok": False, "error": str(exc)[:200]}
        return 200, {"ok": True}
    if path != "/v1/events" or method != "POST":
        return 404, {"error": "POST /v1/events"}
    try:
        document = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        items = document if isinstance(document, list) else [document]
        if not items or len(items) > 500 or not all(
                isinstance(i, dict) and i.get("type") in TYPES and isinstance(i.get("data"), dict) for i in items):
            raise ValueError("each event needs a known type and a data object")
    except ValueError as exc:
        return 400, {"error": str(exc)[:200]}
    try:
        created = publish(items)
    except psycopg.Error as exc:
        _local.conn = None
        return 503, {"error": f"{type(exc).__name__}: {exc}"[:200]}
    return 201, created if isinstance(document, list) else created[0]


def app(environ: dict, start_response) -> list[bytes]:
    status, body = handle(environ)
    data = json.dumps(body).encode()
    start_response(f"{status} {HTTPStatus(status).phrase}", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 -- no access log
        pass


if __name__ == "__main__":
    apply_schema()
    make_server("0.0.0.0", 8000, app, server_class=Server, handler_class=QuietHandler).serve_forever()
