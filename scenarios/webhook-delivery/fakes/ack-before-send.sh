#!/usr/bin/env bash
# Fake fix: the reference, but a claimed delivery is marked delivered and committed before it is
# sent (no transaction held across the HTTP call); a failed attempt puts it back in the schedule. A
# dispatcher killed mid-send leaves that delivery marked done.
set -euo pipefail
python3 "$(dirname "$0")/override.py" <<'PY'
def deliver_one(conn, subscription):
    claimed = None
    with conn.transaction():
        claimed = claim(conn, subscription.endpoint)
        if claimed:
            conn.execute("UPDATE deliveries SET status = 'delivered' WHERE event_id = %s AND endpoint = %s",
                         (claimed[0].id, subscription.endpoint))
    if claimed is None:
        return until_due(conn, subscription.endpoint)
    event, attempts = claimed
    status, error = webhooks.post(subscription, event, TIMEOUT)
    if not 200 <= status < 300:
        with conn.transaction():
            record(conn, subscription, event, attempts + 1, status, error)
    return 0.0
PY
bash "$(dirname "$0")/../solution/deploy.sh"
