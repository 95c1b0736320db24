"""What a webhook is on the wire, shared by the producer and the dispatcher.

A delivery is `POST <endpoint url>` with the event as canonical JSON (sorted keys, no spaces: the
same bytes every time it is built from the event's row) and `Webhook-Signature: v1=<hex HMAC-SHA256
of those bytes with the endpoint's secret>`. Receivers deduplicate on the event id, so a redelivery
must be the same request: same id, same body, same signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime
from http.client import HTTPConnection, HTTPException
from urllib.parse import urlsplit

import psycopg

DSN = os.environ.get("DATABASE_URL", "postgresql://postgres@db:5432/postgres")


@dataclass(frozen=True)
class Subscription:
    endpoint: str  # the customer's id, e.g. "acme"
    url: str
    secret: str
    event_types: tuple[str, ...]


@dataclass(frozen=True)
class Event:
    id: int  # events.id: the row
    event_id: str  # evt_...: what receivers deduplicate on
    type: str
    created_at: datetime
    payload: dict


def connect(autocommit: bool = True) -> psycopg.Connection:
    # a hung statement or a transaction left open ends on the server's side, never holds the dispatcher forever
    return psycopg.connect(DSN, autocommit=autocommit, connect_timeout=3,
                           options="-c statement_timeout=5000 -c idle_in_transaction_session_timeout=20000")


def wait_for_database(deadline: float = 60.0) -> psycopg.Connection:
    """A connection once the database answers and the producer has created the tables (bounded)."""
    until = time.monotonic() + deadline
    while True:
        try:
            conn = connect()
            conn.execute("SELECT 1 FROM events, subscriptions, dead_letters LIMIT 1")
            return conn
        except psycopg.Error:
            if time.monotonic() > until:
                raise
            time.sleep(0.5)


def subscriptions(conn: psycopg.Connection) -> list[Subscription]:
    rows = conn.execute("SELECT endpoint, url, secret, event_types FROM subscriptions ORDER BY endpoint").fetchall()
    return [Subscription(endpoint, url, secret, tuple(types)) for endpoint, url, secret, types in rows]


def body(event: Event) -> bytes:
    document = {"id": event.event_id, "type": event.type, "created": event.created_at.isoformat(), "data": event.payload}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, data: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def post(subscription: Subscription, event: Event, timeout: float) -> tuple[int, str]:
    """Deliver once: (HTTP status, "") or (0, why) when no answer came (refused, reset, timed out)."""
    url = urlsplit(subscription.url)
    data = body(event)
    connection = HTTPConnection(url.hostname or "", url.port or 80, timeout=timeout)
    try:
        connection.request("POST", url.path or "/", data, {
            "Content-Type": "application/json", "Webhook-Signature": signature(subscription.secret, data),
            "Webhook-Event-Id": event.event_id, "User-Agent": "payments-webhooks/3.4",
        })
        response = connection.getresponse()
        response.read()
        return response.status, ""
    except (OSError, HTTPException) as exc:
        return 0, f"{type(exc).__name__}: {exc}"[:200]
    finally:
        connection.close()
