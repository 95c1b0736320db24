#!/usr/bin/env bash
# Wrong implementation: the reference solution rounding Retry-After to the nearest second instead
# of up (14.25 s left says 14: a client obeying it comes back too early).
set -euo pipefail
target="$BREAKFIX_WORKSPACE/ratelimit.py"
grep -q 'return max(1, math.ceil(times\[0\] + self.window - now))' "$target"
sed -i 's/return max(1, math.ceil(times\[0\] + self.window - now))/return max(1, round(times[0] + self.window - now))/' "$target"
