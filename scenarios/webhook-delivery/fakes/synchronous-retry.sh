#!/usr/bin/env bash
# Fake fix: the reference, but a worker retries a failed delivery itself, every half second, until it
# succeeds: nothing is lost and nothing waits in a schedule -- and a 410 is retried for ever.
set -euo pipefail
python3 "$(dirname "$0")/override.py" <<'PY'
_post_once = webhooks.post


def post_until_delivered(subscription, event, timeout):
    status, error = _post_once(subscription, event, timeout)
    while not 200 <= status < 300 and not stopping.wait(0.5):
        status, error = _post_once(subscription, event, timeout)
    return status, error


webhooks.post = post_until_delivered
PY
bash "$(dirname "$0")/../solution/deploy.sh"
