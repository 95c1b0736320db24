#!/usr/bin/env bash
# Wrong implementation: the reference solution without its lock -- right one request at a time,
# but concurrent requests of one key can all pass the count before any is recorded.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/ratelimit.py"
grep -q 'self._lock = threading.Lock()' "$target"
sed -i -e 's/self._lock = threading.Lock()/self._lock = contextlib.nullcontext()/' -e 's/^import json$/import contextlib\nimport json/' "$target"
grep -q '^import contextlib$' "$target"
