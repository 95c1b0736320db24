#!/usr/bin/env bash
# Fake fix: the reference, but every retry waits about one second, jittered, without backing off.
set -euo pipefail
python3 "$(dirname "$0")/override.py" <<'PY'
def backoff(attempts):
    return random.uniform(0.5, 1.5)
PY
bash "$(dirname "$0")/../solution/deploy.sh"
