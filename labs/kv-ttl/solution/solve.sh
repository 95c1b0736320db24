#!/usr/bin/env bash
# Reference solution: dict + expiry min-heap swept on every call, one lock.
set -euo pipefail
cp "$(dirname "$0")/kvstore.py" "$BREAKFIX_WORKSPACE/kvstore.py"
