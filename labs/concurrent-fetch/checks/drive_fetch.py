"""Runs in the sandbox: calls the learner's fetch_all for each graded situation (in parallel,
one API key each) and prints one marked JSON line with every outcome (result or error, wall
time). The grader reads that line and the mock's own log."""

from __future__ import annotations

import json
import sys
import threading
import time

BASE_URL = sys.argv[1]
MARKER = "@@fetch-outcomes "
OUTCOMES: list[dict[str, object]] = []
# (call name, api key, resources, keyword arguments)
CALLS = [
    ("main", "sk_test_main", ["customers", "charges", "refunds", "payouts", "disputes"], {"base_delay": 0.2, "max_delay": 2.0}),
    ("exhaust", "sk_test_exhaust", ["balance_transactions"], {"base_delay": 0.2, "max_delay": 0.5, "max_retries": 4}),
    ("not-found", "sk_test_4xx", ["transfers"], {"base_delay": 0.2}),
    ("bad-key", "sk_live_revoked", ["customers"], {"base_delay": 0.2}),
    ("malformed", "sk_test_4xx", ["events"], {"base_delay": 0.2}),
    ("wrong-shape", "sk_test_4xx", ["invoices"], {"base_delay": 0.2}),
    ("json-array", "sk_test_4xx", ["plans"], {"base_delay": 0.2}),
    ("backoff", "sk_test_backoff", ["customers", "charges", "refunds", "payouts"], {"base_delay": 0.2, "max_delay": 8.0}),
    ("cap", "sk_test_cap", ["balance_transactions"], {"base_delay": 0.2, "max_delay": 0.3, "max_retries": 5}),
    ("timeout", "sk_test_timeout", ["payouts"], {"base_delay": 0.2, "max_retries": 1, "timeout": 0.5}),
]


def call(name: str, key: str, resources: list[str], options: dict[str, float]) -> None:
    from fetcher import fetch_all  # the learner's module, from /work

    started = time.monotonic()
    outcome: dict[str, object] = {"call": name}
    try:
        outcome["result"] = fetch_all(BASE_URL, resources, key, **options)
    except Exception as exc:  # noqa: BLE001 -- any failure is graded, not fatal to the other calls
        outcome["error"] = {
            "type": type(exc).__name__,
            "resource": getattr(exc, "resource", None),
            "status": getattr(exc, "status", None),
            "text": str(exc)[:300],
        }
    outcome["seconds"] = time.monotonic() - started
    OUTCOMES.append(outcome)


def main() -> None:
    # the calls use different API keys, so the mock tells them apart; in parallel to save time
    threads = [threading.Thread(target=call, args=spec[0:4]) for spec in CALLS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # one line, after every call ended: the learner's own prints cannot split it
    sys.stdout.write("\n" + MARKER + json.dumps(OUTCOMES, default=repr) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
