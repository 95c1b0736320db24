#!/usr/bin/env bash
# Fake fix: the reference, but its backoff without the jitter: every retry n waits exactly min(cap, base x 2^(n-1)).
set -euo pipefail
python3 "$(dirname "$0")/override.py" <<'PY'
def backoff(attempts):
    return min(CAP, BASE * 2 ** (attempts - 1))
PY
bash "$(dirname "$0")/../solution/deploy.sh"
