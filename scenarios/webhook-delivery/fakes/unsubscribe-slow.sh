#!/usr/bin/env bash
# Fake fix: the reference, plus initech's subscription deleted, so its slow endpoint can hold nothing up.
set -euo pipefail
here="$(dirname "$0")"
docker exec "$BREAKFIX_PREFIX-db" psql -U postgres -qc "DELETE FROM subscriptions WHERE endpoint = 'initech'"
bash "$here/../solution/solve.sh"
