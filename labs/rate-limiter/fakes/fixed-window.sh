#!/usr/bin/env bash
# Wrong implementation: a counter per fixed window (floor(t / window)) instead of a rolling window.
set -euo pipefail
cp "$(dirname "$0")/fixed-window/ratelimit.py" "$BREAKFIX_WORKSPACE/ratelimit.py"
