#!/usr/bin/env bash
# Reference fix: the limit in Redis, one atomic Lua script per decision (a sliding window log),
# failing open when Redis cannot answer. SOLUTION.md argues the design.
set -euo pipefail
here="$(dirname "$0")"
cp "$here/../stack/app/limiter.py" "$BREAKFIX_WORKSPACE/stack/app/limiter.py"
bash "$here/reload-replicas.sh"
