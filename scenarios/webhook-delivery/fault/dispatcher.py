"""The webhook dispatcher: delivers every event to every endpoint subscribed to its type.

Release 3.4 (HOOKS-212): the dispatcher no longer keeps a deliveries table. It takes a batch of new
events off the outbox (marking them dispatched, so a second dispatcher never sends them again),
delivers each to its subscribers, and keeps the failures in a retry list that it works through on a
fixed schedule -- simpler, and the table was the database's biggest by far.
"""

from __future__ import annotations

import signal
import threading
import time

import webhooks
from webhooks import Event

BATCH = 20
TIMEOUT = 10.0
RETRY_EVERY = 2.0  # seconds between passes over the retry list
IDLE = 0.2

stopping = threading.Event()
retries: list[tuple[webhooks.Subscription, Event]] = []


def take_batch(conn) -> list[Event]:
    rows = conn.execute(
        "UPDATE events SET dispatched_at = now() WHERE id IN (SELECT id FROM events WHERE dispatched_at IS NULL"
        " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id, event_id, type, created_at, payload", (BATCH,)).fetchall()
    return sorted((Event(*row) for row in rows), key=lambda event: event.id)


def deliver(subscription: webhooks.Subscription, event: Event) -> None:
    status, _ = webhooks.post(subscription, event, TIMEOUT)
    if not 200 <= status < 300:
        retries.append((subscription, event))


def retry_pass() -> None:
    pending = list(retries)
    retries.clear()
    for subscription, event in pending:
        deliver(subscription, event)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    conn = webhooks.wait_for_database()
    next_pass = time.monotonic() + RETRY_EVERY
    while not stopping.is_set():
        subscriptions = webhooks.subscriptions(conn)
        batch = take_batch(conn)
        for event in batch:
            for subscription in subscriptions:
                if event.type in subscription.event_types:
                    deliver(subscription, event)
        if time.monotonic() >= next_pass:
            retry_pass()
            next_pass = time.monotonic() + RETRY_EVERY
        if not batch:
            stopping.wait(IDLE)


if __name__ == "__main__":
    main()
