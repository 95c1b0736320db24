"""Creating a payment, at most once per Idempotency-Key.

Release 2.1 (PAY-880): idempotency keys moved out of the payment rows into a table of their own,
written once the charge is through, so a failed charge never burns the customer's key. Keys are
UUIDs the clients generate, so a lookup by key is enough; a key seen before is refused.
"""

from __future__ import annotations

import secrets

import cardnet
from psycopg import Connection

SCHEMA = """
CREATE TABLE IF NOT EXISTS charges (
    id             text PRIMARY KEY,
    account        text NOT NULL,
    amount         integer NOT NULL,
    currency       text NOT NULL,
    description    text NOT NULL,
    status         text NOT NULL,
    network_charge text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key        text NOT NULL,
    payment_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idempotency_keys_key ON idempotency_keys (key);
"""

Answer = tuple[int, dict, dict[str, str]]


def create_payment(conn: Connection, account: str, key: str, request: dict) -> Answer:
    seen = conn.execute("SELECT payment_id FROM idempotency_keys WHERE key = %s", (key,)).fetchone()
    if seen:
        return 409, {"error": {"type": "idempotency_error", "code": "duplicate_request",
                               "message": f"a payment was already made with this Idempotency-Key ({seen[0]})"}}, {}
    payment_id = "pay_" + secrets.token_hex(12)
    try:
        result = cardnet.charge(payment_id, account, request["amount"], request["currency"], request["description"])
    except cardnet.CardNetworkError as exc:
        return 502, {"error": {"type": "api_error", "code": "card_network_unavailable", "message": str(exc)[:200]}}, {}
    conn.execute(
        "INSERT INTO charges (id, account, amount, currency, description, status, network_charge)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (payment_id, account, request["amount"], request["currency"], request["description"], result["status"], result["network_charge"]),
    )
    conn.execute("INSERT INTO idempotency_keys (key, payment_id) VALUES (%s, %s)", (key, payment_id))
    body = {
        "id": payment_id, "object": "payment", "account": account, "amount": request["amount"],
        "currency": request["currency"], "description": request["description"],
        "status": result["status"], "network_charge": result["network_charge"],
    }
    return (201 if result["status"] == "succeeded" else 402), body, {}
