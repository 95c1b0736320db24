#!/usr/bin/env bash
# Fake fix: the release's code, plus a dictionary in each replica's memory of the keys it has seen and
# their answers: duplicates that reach the same replica wait and get the first answer; the other
# replica, and a replica that restarted, know nothing of them.
set -euo pipefail
cat >> "$BREAKFIX_WORKSPACE/stack/app/payments.py" <<'PY'


import threading

_answers: dict = {}
_answers_lock = threading.Lock()
_create_payment_once = create_payment


def create_payment(conn, account, key, request):
    with _answers_lock:
        slot = _answers.get((account, key))
        first = slot is None
        if first:
            slot = _answers[(account, key)] = {"done": threading.Event()}
    if not first:
        slot["done"].wait(10)
        return slot.get("answer") or (500, {"error": {"type": "api_error", "message": "first request failed"}}, {})
    try:
        slot["answer"] = _create_payment_once(conn, account, key, request)
        return slot["answer"]
    finally:
        slot["done"].set()
PY
bash "$(dirname "$0")/../solution/reload-api.sh"
