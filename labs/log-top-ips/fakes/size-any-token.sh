#!/usr/bin/env bash
# Wrong implementation: the reference solution taking SIZE as any token (`\S+`) instead of digits
# or `-`: `12a`, `+12` and `1_000` count as valid lines.
set -euo pipefail
target="$BREAKFIX_WORKSPACE/top_ips.py"
grep -q '(?:\\d+|-)' "$target"
sed -i 's/(?:\\d+|-)/\\S+/' "$target"
