"""The webhook dispatcher: delivers every event to every endpoint subscribed to its type, at least once.

Delivery state lives in PostgreSQL, never in this process: a fan-out loop turns each new event into
one `deliveries` row per subscribed endpoint, in the same transaction that marks the event taken
over, and per-endpoint workers claim due rows with FOR UPDATE SKIP LOCKED, holding the row lock
while they send. A delivery is finished only after the endpoint's answer: a dispatcher killed
mid-send rolls its transaction back, and the row is due again at once. Failures back off
exponentially with jitter (retries of failures that happened together do not stay together); a 410,
or too many attempts, ends the delivery in `dead_letters`. Each endpoint has its own workers, so a
slow or failing endpoint only ever delays its own deliveries.
"""

from __future__ import annotations

import os
import random
import signal
import threading

import psycopg
import webhooks
from webhooks import Event, Subscription

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    event_id        bigint NOT NULL REFERENCES events (id),
    endpoint        text NOT NULL,
    status          text NOT NULL DEFAULT 'pending',  -- pending | delivered | dead
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    PRIMARY KEY (event_id, endpoint)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (endpoint, next_attempt_at) WHERE status = 'pending';
"""
WORKERS_PER_ENDPOINT = 4
TIMEOUT = 5.0  # what the contract gives an endpoint to answer
BASE, CAP = 1.0, 2.0  # seconds: retry n waits about BASE * 2**(n-1), at most CAP, times a jitter of 0.5..1.5
MAX_ATTEMPTS = 12
FAN_OUT_EVERY = 0.2  # seconds between looks for new events
IDLE = 1.0  # seconds at most an idle worker waits (for the fan-out's signal, or its next retry to come due)

stopping = threading.Event()
# endpoint -> its workers' wake-up: the fan-out wakes the workers of the endpoints it queued rows for
new_deliveries: dict[str, threading.Condition] = {}


def backoff(attempts: int) -> float:
    return min(CAP, BASE * 2 ** (attempts - 1)) * random.uniform(0.5, 1.5)


def fan_out(conn: psycopg.Connection) -> float:
    """One delivery row per subscribed endpoint for each new event; the event is taken over in the same commit.
    Returns how long to rest before the next look."""
    with conn.transaction():
        rows = conn.execute(
            "SELECT id FROM events WHERE dispatched_at IS NULL ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED").fetchall()
        if not rows:
            return FAN_OUT_EVERY
        ids = [row[0] for row in rows]
        queued = conn.execute(
            "INSERT INTO deliveries (event_id, endpoint) SELECT e.id, s.endpoint FROM events e"
            " JOIN subscriptions s ON e.type = ANY (s.event_types) WHERE e.id = ANY (%s) ON CONFLICT DO NOTHING"
            " RETURNING endpoint", (ids,)).fetchall()
        conn.execute("UPDATE events SET dispatched_at = now() WHERE id = ANY (%s)", (ids,))
    for endpoint in {row[0] for row in queued}:
        if endpoint in new_deliveries:
            with new_deliveries[endpoint]:
                new_deliveries[endpoint].notify_all()
    return 0.0


def claim(conn: psycopg.Connection, endpoint: str) -> tuple[Event, int] | None:
    """Lock this endpoint's most overdue delivery for the open transaction: (event, attempts so far)."""
    row = conn.execute(
        "SELECT d.event_id, d.attempts, e.event_id, e.type, e.created_at, e.payload FROM deliveries d"
        " JOIN events e ON e.id = d.event_id WHERE d.endpoint = %s AND d.status = 'pending'"
        " AND d.next_attempt_at <= now() ORDER BY d.next_attempt_at LIMIT 1 FOR UPDATE OF d SKIP LOCKED",
        (endpoint,)).fetchone()
    return None if row is None else (Event(row[0], row[2], row[3], row[4], row[5]), row[1])


def record(conn: psycopg.Connection, subscription: Subscription, event: Event, attempts: int, status: int, error: str) -> None:
    """The outcome of an attempt: delivered, dead (a 410, or out of attempts), or due again after a backoff."""
    key = (event.id, subscription.endpoint)
    if 200 <= status < 300:
        conn.execute("UPDATE deliveries SET status = 'delivered', attempts = %s, last_error = NULL"
                     " WHERE event_id = %s AND endpoint = %s", (attempts, *key))
    elif status == 410 or attempts >= MAX_ATTEMPTS:
        reason = "410 Gone: the endpoint was deleted" if status == 410 else f"gave up after {attempts} attempts: {error or status}"
        conn.execute("UPDATE deliveries SET status = 'dead', attempts = %s, last_error = %s"
                     " WHERE event_id = %s AND endpoint = %s", (attempts, reason, *key))
        conn.execute("INSERT INTO dead_letters (event_id, endpoint, reason) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                     (event.event_id, subscription.endpoint, reason))
    else:
        conn.execute("UPDATE deliveries SET status = 'pending', attempts = %s, last_error = %s,"
                     " next_attempt_at = now() + make_interval(secs => %s) WHERE event_id = %s AND endpoint = %s",
                     (attempts, error or f"HTTP {status}", backoff(attempts), *key))


def until_due(conn: psycopg.Connection, endpoint: str) -> float:
    """Seconds until this endpoint's next retry is due (IDLE at most): an idle worker wakes when it is,
    so retries leave when their jittered time comes, not in batches at the next poll. Rows other
    workers are sending are skipped (SKIP LOCKED), or a worker would spin while a slow endpoint answers."""
    row = conn.execute("SELECT extract(epoch FROM next_attempt_at - now()) FROM deliveries WHERE endpoint = %s"
                       " AND status = 'pending' ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED", (endpoint,)).fetchone()
    return IDLE if row is None or row[0] is None else min(IDLE, max(0.01, float(row[0])))


def deliver_one(conn: psycopg.Connection, subscription: Subscription) -> float:
    """Claim one due delivery of this endpoint, send it, record the outcome, all in one transaction:
    the row stays locked while the endpoint answers, and a process killed meanwhile leaves it due.
    Returns how long to rest: 0 after a delivery, else until the next one is due."""
    with conn.transaction():
        claimed = claim(conn, subscription.endpoint)
        if claimed is not None:
            event, attempts = claimed
            status, error = webhooks.post(subscription, event, TIMEOUT)
            record(conn, subscription, event, attempts + 1, status, error)
            return 0.0
    return until_due(conn, subscription.endpoint)


def loop(work, rest, *args) -> None:
    """Run one unit of work after another on this thread's own connection, rest(seconds) when it says
    so; a broken connection is opened again (the dispatcher outlives database restarts)."""
    conn = None
    while not stopping.is_set():
        try:
            if conn is None or conn.closed:
                conn = webhooks.connect()
            pause = work(conn, *args)
        except psycopg.Error:
            if conn is not None:
                conn.close()
            conn, pause = None, 1.0
        if pause > 0:
            rest(pause)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    conn = webhooks.wait_for_database()
    # a restart finds the table there: CREATE INDEX IF NOT EXISTS would still wait for a table lock
    # behind the killed process's transactions, which the server only ends once it notices them gone
    if conn.execute("SELECT to_regclass('deliveries')").fetchone()[0] is None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(7102)")
            conn.execute(SCHEMA)
    print(f"dispatcher {os.getpid()} started", flush=True)
    started: dict[str, list[threading.Thread]] = {}
    threading.Thread(target=loop, args=(fan_out, stopping.wait), daemon=True).start()
    while not stopping.is_set():
        # endpoints subscribed later get their workers within a few seconds
        for subscription in webhooks.subscriptions(conn):
            if subscription.endpoint not in started:
                wake = new_deliveries[subscription.endpoint] = threading.Condition()

                def idle(seconds: float, wake: threading.Condition = wake) -> None:
                    with wake:
                        wake.wait(seconds)

                started[subscription.endpoint] = [threading.Thread(target=loop, args=(deliver_one, idle, subscription), daemon=True)
                                                  for _ in range(WORKERS_PER_ENDPOINT)]
                for thread in started[subscription.endpoint]:
                    thread.start()
        stopping.wait(5.0)


if __name__ == "__main__":
    main()
