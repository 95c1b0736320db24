#!/usr/bin/env bash
# Wrong implementation: the reference solution without its lock -- each call alone is right,
# but concurrent incr() calls lose updates.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/kvstore.py"
sed -i 's/self._lock = threading.Lock()/self._lock = contextlib.nullcontext()/' "$target"
sed -i 's/^import heapq$/import contextlib\nimport heapq/' "$target"
grep -q 'contextlib.nullcontext()' "$target"
