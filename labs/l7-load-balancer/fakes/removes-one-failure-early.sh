#!/usr/bin/env bash
# Wrong implementation: the reference solution removing a backend once its failures reach
# fall - 1 (an off-by-one: `failures + 1 >= fall`).
set -euo pipefail
target="$BREAKFIX_WORKSPACE/lb.py"
grep -q 'if backend.healthy and backend.failures >= self.fall:' "$target"
sed -i 's/if backend.healthy and backend.failures >= self.fall:/if backend.healthy and backend.failures + 1 >= self.fall:/' "$target"
