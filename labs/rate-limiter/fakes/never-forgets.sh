#!/usr/bin/env bash
# Wrong implementation: the reference solution without its sweep -- every answer right, but every
# key ever seen stays in memory.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/ratelimit.py"
grep -q '^            self._sweep(now, horizon)$' "$target"
sed -i 's/^            self._sweep(now, horizon)$/            pass/' "$target"
