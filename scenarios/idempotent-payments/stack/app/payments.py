"""Creating a payment exactly once per (account, Idempotency-Key).

A key is claimed before the card network is called: a `pending` row, committed, names the
reference the charge is made with, and a session advisory lock on the key says its request is
alive. Whoever holds the lock decides; a request that cannot get it answers 409 + Retry-After.
The lock dies with its database session, so a replica killed mid-charge leaves a pending row
and a free lock: the next retry asks the card network what happened to the reference and
finishes the payment with that answer, charging only when the network never did.
"""

from __future__ import annotations

import hashlib
import json
import secrets

import cardnet
from psycopg import Connection
from psycopg.types.json import Jsonb

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    id              text PRIMARY KEY,
    account         text NOT NULL,
    idempotency_key text NOT NULL,
    request_hash    text NOT NULL,
    state           text NOT NULL CHECK (state IN ('pending', 'done')),
    response_status integer,
    response_body   jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    UNIQUE (account, idempotency_key)
);
"""

Answer = tuple[int, dict, dict[str, str]]
IN_PROGRESS: Answer = (
    409,
    {"error": {"type": "idempotency_error", "code": "request_in_progress",
               "message": "a request with this Idempotency-Key is being processed; retry with the same key"}},
    {"Retry-After": "1"},
)


def request_hash(request: dict) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def try_claim(conn: Connection, account: str, key: str) -> bool:
    """Take the key's session advisory lock without waiting (the key of both, so accounts never collide)."""
    row = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (f"{account}\x1f{key}",)).fetchone()
    return bool(row and row[0])


def release(conn: Connection, account: str, key: str) -> None:
    conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (f"{account}\x1f{key}",))


def create_payment(conn: Connection, account: str, key: str, request: dict) -> Answer:
    digest = request_hash(request)
    if not try_claim(conn, account, key):
        return IN_PROGRESS
    try:
        row = conn.execute(
            "SELECT id, request_hash, state, response_status, response_body FROM payments"
            " WHERE account = %s AND idempotency_key = %s", (account, key),
        ).fetchone()
        if row is None:
            payment_id = "pay_" + secrets.token_hex(12)
            # committed (autocommit) before any money moves: a crash from here on leaves a trace
            conn.execute(
                "INSERT INTO payments (id, account, idempotency_key, request_hash, state) VALUES (%s, %s, %s, %s, 'pending')",
                (payment_id, account, key, digest),
            )
            return finish(conn, payment_id, account, request, None)
        payment_id, stored_hash, state, status, body = row
        if stored_hash != digest:
            return 422, {"error": {"type": "idempotency_error", "code": "idempotency_key_reused",
                                   "message": "this Idempotency-Key was used with a different request"}}, {}
        if state == "done":
            return status, body, {"Idempotent-Replayed": "true"}
        # pending, and its lock was free: the request that claimed it died. Did the network charge it?
        executed = cardnet.charges_with_reference(payment_id)
        return finish(conn, payment_id, account, request, executed[0] if executed else None)
    except cardnet.CardNetworkError as exc:
        # the row stays pending: the next retry finds out from the network what happened
        return 502, {"error": {"type": "api_error", "code": "card_network_unavailable", "message": str(exc)[:200]}}, {}
    finally:
        release(conn, account, key)


def finish(conn: Connection, payment_id: str, account: str, request: dict, executed: dict | None) -> Answer:
    """Charge (unless the network already executed this reference), store the answer, return it."""
    result = executed or cardnet.charge(payment_id, account, request["amount"], request["currency"], request["description"])
    status = 201 if result["status"] == "succeeded" else 402
    body = {
        "id": payment_id, "object": "payment", "account": account, "amount": request["amount"],
        "currency": request["currency"], "description": request["description"],
        "status": result["status"], "network_charge": result["network_charge"],
    }
    conn.execute(
        "UPDATE payments SET state = 'done', response_status = %s, response_body = %s, finished_at = now() WHERE id = %s",
        (status, Jsonb(body), payment_id),
    )
    return status, body, {}
