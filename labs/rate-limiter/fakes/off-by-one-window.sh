#!/usr/bin/env bash
# Wrong implementation: the reference solution with the window closed on the left, so a request
# made exactly `window` seconds ago still counts (one comparison off by one).
set -euo pipefail
target="$BREAKFIX_WORKSPACE/ratelimit.py"
grep -q 'times\[0\] <= horizon' "$target"
sed -i 's/times\[0\] <= horizon/times[0] < horizon/' "$target"
grep -q 'times\[0\] < horizon' "$target"
