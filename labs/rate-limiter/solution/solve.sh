#!/usr/bin/env bash
# Reference solution: a rolling-window log per key behind one lock.
set -euo pipefail
cp "$(dirname "$0")/ratelimit.py" "$BREAKFIX_WORKSPACE/ratelimit.py"
