#!/usr/bin/env bash
# Fake fix: the reference, but every retry waits one fixed second, without backoff or jitter.
set -euo pipefail
python3 "$(dirname "$0")/override.py" <<'PY'
def backoff(attempts):
    return 1.0
PY
bash "$(dirname "$0")/../solution/deploy.sh"
